// Who is shown large, for whom. A conversation class is laid out for the person looking:
// - the tutor sees the students as a gallery (their faces are the lesson), their own view small;
// - a student or an observer sees the tutor, or whoever the tutor spotlights, large and the
//   others small; a shared screen, when there is one, is larger still.

/**
 * The layout of the stage.
 * @param {object} room
 * @param {"tutor"|"student"|"observer"} room.role  the role of the person looking
 * @param {number} room.me  their user id
 * @param {Array<{user_id: number, role: string}>} room.shown  the people with a video tile
 *   (the person looking included unless they are an observer), in a stable order
 * @param {number|null} room.spotlight  the spotlighted user id
 * @param {boolean} room.screen  whether a screen shared by someone else is shown
 * @returns {{mode: "gallery"|"speaker"|"screen", main: number[], strip: number[]}}
 *   `main` are the large tiles, `strip` the small ones.
 */
export function stageLayout({ role, me, shown, spotlight = null, screen = false }) {
  const ids = shown.map((p) => p.user_id);
  const others = ids.filter((id) => id !== me);
  const mine = ids.includes(me) ? [me] : [];
  if (role === "tutor") {
    const students = shown.filter((p) => p.role === "student").map((p) => p.user_id);
    if (!students.length) return { mode: "gallery", main: mine, strip: others };
    const first = students.includes(spotlight) ? [spotlight] : [];
    const main = [...first, ...students.filter((id) => id !== spotlight)];
    return {
      mode: "gallery",
      main,
      strip: [...ids.filter((id) => !main.includes(id) && id !== me), ...mine],
    };
  }
  const tutor = shown.find((p) => p.role === "tutor")?.user_id;
  const featured = spotlight != null && spotlight !== me && ids.includes(spotlight) ? spotlight : tutor;
  if (screen) {
    const rest = others.filter((id) => id !== featured);
    return { mode: "screen", main: [], strip: [...(featured != null ? [featured] : []), ...rest, ...mine] };
  }
  if (featured == null)
    return { mode: "gallery", main: others.length ? others : mine, strip: others.length ? mine : [] };
  return { mode: "speaker", main: [featured], strip: [...others.filter((id) => id !== featured), ...mine] };
}

/**
 * The grid for `count` large tiles (a gallery of 1..12 students, or the one person speaking)
 * in a `width` × `height` space: the number of columns that gives the largest tiles of the
 * camera's shape, so a landscape stage gets more columns than rows and a phone's portrait
 * stage more rows than columns. Tiles are whole pictures: nobody's face is cropped to fit.
 * @returns {{columns: number, rows: number, tileWidth: number, tileHeight: number}}
 */
export function galleryGrid(count, { width, height, aspect = 4 / 3, gap = 8 }) {
  const n = Math.max(1, count);
  let best = null;
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    if (columns > 1 && (columns - 1) * rows >= n) continue; // a whole column would stay empty
    const tileWidth = Math.max(
      0,
      Math.min((width - gap * (columns - 1)) / columns, ((height - gap * (rows - 1)) / rows) * aspect),
    );
    if (!best || tileWidth > best.tileWidth + 0.5)
      best = { columns, rows, tileWidth, tileHeight: tileWidth / aspect };
  }
  return { ...best, tileWidth: Math.floor(best.tileWidth), tileHeight: Math.floor(best.tileHeight) };
}
