// Friendly names for the device pickers. Browsers give raw labels: Chrome lists the system's
// default device twice, once as "Default - Name (046d:0825)" with the id "default", and adds
// USB vendor:product ids to names; before permission is granted, labels are empty.

const USB_ID = /\s*\([0-9a-f]{4}:[0-9a-f]{4}\)\s*$/i;
const PREFIX = /^(default|communications)\s+-\s+/i;

/** A device label without the browser's "Default - " prefix and USB ids. */
export function friendlyName(label) {
  return label.replace(PREFIX, "").replace(USB_ID, "").trim();
}

/**
 * The choices for one kind of device: [{value, label}], the default device first and marked.
 * Chrome's "default" and "communications" entries stand for a device that is also listed by
 * its own id: the "default" one is kept (it follows the system's choice), the duplicates go.
 * Where the browser has no "default" entry, the first device is the default.
 * @param {Array<{deviceId: string, kind: string, label: string, groupId?: string}>} devices
 * @param {string} kind  "audioinput" or "videoinput"
 * @param {{default_device: string, microphone_n: string, camera_n: string}} strings
 */
export function deviceChoices(devices, kind, strings) {
  const ofKind = devices.filter((d) => d.kind === kind && d.deviceId !== "communications");
  const fallback = kind === "audioinput" ? strings.microphone_n : strings.camera_n;
  const named = ofKind.map((d, i) => ({
    value: d.deviceId,
    name: (d.label && friendlyName(d.label)) || fallback.replace("{n}", String(i + 1)),
  }));
  const pseudo = named.find((d) => d.value === "default");
  const choices = pseudo ? [pseudo, ...named.filter((d) => d !== pseudo && d.name !== pseudo.name)] : named;
  return choices.map((d, i) => ({
    value: d.value,
    label: i === 0 ? strings.default_device.replace("{name}", d.name) : d.name,
  }));
}
