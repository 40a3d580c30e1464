// A raised hand in words: "Hand raised · 2nd" (the place in the queue the tutor answers in).

/** `n` as an ordinal in `language`, from the page's strings ordinal_one/two/few/other. */
export function ordinal(n, language, strings) {
  const category = new Intl.PluralRules(language, { type: "ordinal" }).select(n);
  const template = strings[`ordinal_${category}`] ?? strings.ordinal_other;
  return template.replace("{n}", String(n));
}

/** The label of a hand raised at `index` (0: first) in the room's queue. */
export function handLabel(index, language, strings) {
  return strings.hand_raised.replace("{place}", ordinal(index + 1, language, strings));
}
