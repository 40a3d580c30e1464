// What students read about their tutor while the tutor is not in the room. Pure, tested with
// node --test.

const fill = (template, params) =>
  template.replace(/\{(\w+)\}/g, (all, k) => (k in params ? params[k] : all));

/** The notice for `tutor` ({name, state}) as seen by someone of `role`, or null when there is
 * nothing to say (the tutor is here, or the reader is the tutor). `changed`: a coordinator
 * has just given the class to this tutor. */
export function tutorNotice(tutor, role, strings, changed = false) {
  if (!tutor || role === "tutor") return null;
  const name = tutor.name;
  if (tutor.state === "present") return changed && name ? fill(strings.tutor_today, { name }) : null;
  if (tutor.state === "reconnecting") return strings.tutor_reconnecting;
  if (changed && name) return `${fill(strings.tutor_today, { name })} ${strings.tutor_on_the_way}`;
  return name ? fill(strings.tutor_awaited, { name }) : strings.tutor_on_the_way;
}
