// The tutor's notes during class (docs/protocol.md, "note"): the list a person may read, kept
// by id (a note arrives by its event and by the ack of the tutor who wrote it, and again in
// each hello), and the one keystroke that opens the tutor's note box.
import { el, button } from "./dom.js";

export class Notes {
  constructor() {
    this.byId = new Map();
  }

  /** Everything the server gave back (hello): replaces what was shown. */
  reset(notes) {
    this.byId = new Map(notes.map((n) => [n.id, n]));
  }

  put(note) {
    this.byId.set(note.id, note);
  }

  drop(id) {
    this.byId.delete(id);
  }

  /** Newest first: the note just written is the one to see. */
  list() {
    return [...this.byId.values()].sort((a, b) => b.id - a.id);
  }
}

const EDITABLE = new Set(["INPUT", "TEXTAREA", "SELECT"]);

/** Whether a key press opens the note box: "n" alone, not while typing in a field. */
export function opensNoteBox(event) {
  if (event.key !== "n" && event.key !== "N") return false;
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || event.isComposing) return false;
  const target = event.target;
  return !(target && (EDITABLE.has(target.tagName) || target.isContentEditable));
}

/** The payload of `note:add` from the box's fields, or null if it cannot be sent. */
export function notePayload({ kind, forWhom, text, better }) {
  const said = text.trim();
  const fix = better.trim();
  if (!said || (kind === "correction" && !fix)) return null;
  const payload = { kind, text: said, student_id: forWhom ? Number(forWhom) : null };
  if (kind === "correction") payload.better = fix;
  return payload;
}

/** One note as a list item: its kind, its words, whom it is for (the tutor's view), and a
 * delete button for the tutor. */
export function noteItem(note, { strings, names, onDelete }) {
  const words =
    note.kind === "correction"
      ? [el("s", { class: "said" }, note.text), " → ", el("strong", { class: "better" }, note.better)]
      : [el("strong", {}, note.text)];
  const whom = names ? (note.student_id ? names.get(note.student_id) || "" : strings.note_everyone) : null;
  return el(
    "li",
    { "data-note": note.id },
    el("span", { class: "badge" }, strings["note_" + note.kind]),
    " ",
    ...words,
    whom ? el("span", { class: "muted" }, ` · ${whom}`) : null,
    onDelete
      ? button(strings.note_delete, () => onDelete(note), {
          class: "link note-delete",
          "aria-label": `${strings.note_delete}: ${note.text}`,
        })
      : null,
  );
}
