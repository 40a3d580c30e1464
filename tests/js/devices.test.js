import { test } from "node:test";
import assert from "node:assert/strict";
import { deviceChoices, friendlyName } from "../../web/static/live/devices.js";

const T = { default_device: "{name} (default)", microphone_n: "Microphone {n}", camera_n: "Camera {n}" };

test("USB ids and the Default prefix are dropped", () => {
  assert.equal(friendlyName("Default - Built-in Audio Analog Stereo"), "Built-in Audio Analog Stereo");
  assert.equal(friendlyName("HD Pro Webcam C920 (046d:082d)"), "HD Pro Webcam C920");
  assert.equal(friendlyName("Communications - Headset (Jabra) (0b0e:245e)"), "Headset (Jabra)");
});

test("Chrome's default entry is kept, marked, first; its duplicate and communications go", () => {
  const devices = [
    { kind: "audioinput", deviceId: "default", label: "Default - Headset (0b0e:245e)" },
    { kind: "audioinput", deviceId: "communications", label: "Communications - Headset (0b0e:245e)" },
    { kind: "audioinput", deviceId: "a1", label: "Built-in Microphone" },
    { kind: "audioinput", deviceId: "a2", label: "Headset (0b0e:245e)" },
    { kind: "videoinput", deviceId: "v1", label: "HD Pro Webcam C920 (046d:082d)" },
  ];
  assert.deepEqual(deviceChoices(devices, "audioinput", T), [
    { value: "default", label: "Headset (default)" },
    { value: "a1", label: "Built-in Microphone" },
  ]);
  assert.deepEqual(deviceChoices(devices, "videoinput", T), [
    { value: "v1", label: "HD Pro Webcam C920 (default)" },
  ]);
});

test("without a default entry the first device is the default", () => {
  const devices = [
    { kind: "videoinput", deviceId: "v1", label: "Integrated Camera (04f2:b6d9)" },
    { kind: "videoinput", deviceId: "v2", label: "USB Camera (1234:abcd)" },
  ];
  assert.deepEqual(
    deviceChoices(devices, "videoinput", T).map((c) => c.label),
    ["Integrated Camera (default)", "USB Camera"],
  );
});

test("devices without labels (no permission yet) get numbered names", () => {
  const devices = [
    { kind: "audioinput", deviceId: "x", label: "" },
    { kind: "audioinput", deviceId: "y", label: "" },
  ];
  assert.deepEqual(
    deviceChoices(devices, "audioinput", T).map((c) => c.label),
    ["Microphone 1 (default)", "Microphone 2"],
  );
});

test("no devices, no choices", () => {
  assert.deepEqual(deviceChoices([], "videoinput", T), []);
});
