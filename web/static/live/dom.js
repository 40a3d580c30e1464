// Building the page: small helpers shared by the room's views.
import { handIcon } from "./icons.js";
import { handLabel } from "./hands.js";

export const $ = (sel) => document.querySelector(sel);
export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
};

export const button = (label, onclick, attrs = {}) =>
  el("button", { type: "button", onclick, ...attrs }, ...[label].flat());

/** "Hand raised · 2nd" with its icon, or null if `userId`'s hand is down. */
export function handBadge(hands, userId, language, strings) {
  const index = hands.indexOf(userId);
  if (index < 0) return null;
  return el("span", { class: "badge warn hand" }, handIcon(), handLabel(index, language, strings));
}
