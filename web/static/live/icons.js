// Icons that ship with Kelas, drawn inline: no icon font, no emoji font needed. Each is
// decorative (aria-hidden): the text beside it says what it means.

const SVG = "http://www.w3.org/2000/svg";

function icon(name, shapes) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", `icon icon-${name}`);
  for (const [tag, attrs] of shapes) {
    const shape = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, v);
    svg.append(shape);
  }
  return svg;
}

/** A raised open hand: four fingers, a thumb, the palm. */
export function handIcon() {
  return icon("hand", [
    ["rect", { x: "6.2", y: "5", width: "2.8", height: "10", rx: "1.4" }],
    ["rect", { x: "9.6", y: "2.5", width: "2.8", height: "12", rx: "1.4" }],
    ["rect", { x: "13", y: "3.5", width: "2.8", height: "11", rx: "1.4" }],
    ["rect", { x: "16.4", y: "6", width: "2.8", height: "9", rx: "1.4" }],
    [
      "rect",
      { x: "2.6", y: "10.5", width: "2.8", height: "7.5", rx: "1.4", transform: "rotate(-38 4 14.2)" },
    ],
    ["path", { d: "M6.2 12.5h13v3.2a6.3 6.3 0 0 1-6.3 6.3h-.4a6.3 6.3 0 0 1-6.3-6.3z" }],
  ]);
}

/** A microphone struck through. */
export function micOffIcon() {
  return icon("mic-off", [
    [
      "rect",
      {
        x: "9",
        y: "2.5",
        width: "6",
        height: "11",
        rx: "3",
        fill: "none",
        stroke: "currentColor",
        "stroke-width": "2",
      },
    ],
    ["path", { d: "M6 11a6 6 0 0 0 12 0", fill: "none", stroke: "currentColor", "stroke-width": "2" }],
    ["path", { d: "M12 17v4M8.5 21h7", fill: "none", stroke: "currentColor", "stroke-width": "2" }],
    ["path", { d: "M4 3l16 18", fill: "none", stroke: "currentColor", "stroke-width": "2.2" }],
  ]);
}

/** Signal bars, `lit` of three drawn solid (a connection's grade, quality.js). */
export function signalIcon(lit) {
  const bar = (i, height) => [
    "rect",
    { x: 4 + 6 * i, y: 20 - height, width: 4, height, rx: 1, opacity: i < lit ? 1 : 0.3 },
  ];
  return icon("signal", [bar(0, 6), bar(1, 11), bar(2, 16)]);
}
