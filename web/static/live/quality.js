// A participant's connection as the server measures it ({grade, rtt_ms, loss}, from the
// RTCP reports their browser sends; docs/protocol.md, "Connection quality"), in words.

/** How many signal bars a grade shows: the shape says it, not only the colour. */
export const BARS = { good: 3, fair: 2, poor: 1 };

const ms = (n, language) =>
  new Intl.NumberFormat(language, { style: "unit", unit: "millisecond", unitDisplay: "short" }).format(n);
const percent = (share, language) =>
  new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1 }).format(share);

/** "Connection fair: 320 ms round trip, 2.5% lost" in `language`; null while unmeasured.
 * `strings`: quality ({grade}, {numbers}), quality_good/fair/poor (the grade's word),
 * quality_numbers ({rtt}, {loss}), quality_loss ({loss}: no round trip yet). */
export function qualityText(quality, language, strings) {
  if (!quality) return null;
  const loss = percent(quality.loss, language);
  const numbers =
    quality.rtt_ms == null
      ? strings.quality_loss.replace("{loss}", loss)
      : strings.quality_numbers.replace("{rtt}", ms(quality.rtt_ms, language)).replace("{loss}", loss);
  return strings.quality
    .replace("{grade}", strings["quality_" + quality.grade])
    .replace("{numbers}", numbers);
}

/** The short form for a narrow screen: "320 ms · 2.5%" ("2.5%" with no round trip yet). */
export function qualityNumbers(quality, language) {
  const loss = percent(quality.loss, language);
  return quality.rtt_ms == null ? loss : `${ms(quality.rtt_ms, language)} · ${loss}`;
}
