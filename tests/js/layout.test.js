import { test } from "node:test";
import assert from "node:assert/strict";
import { galleryGrid, stageLayout } from "../../web/static/live/layout.js";

const TUTOR = { user_id: 1, role: "tutor" };
const students = (n) => Array.from({ length: n }, (_, i) => ({ user_id: 10 + i, role: "student" }));

test("the tutor sees the students large and their own view small", () => {
  const got = stageLayout({ role: "tutor", me: 1, shown: [TUTOR, ...students(3)], spotlight: null });
  assert.deepEqual(got, { mode: "gallery", main: [10, 11, 12], strip: [1] });
});

test("the tutor's gallery puts a spotlighted student first, still among the others", () => {
  const got = stageLayout({ role: "tutor", me: 1, shown: [TUTOR, ...students(3)], spotlight: 12 });
  assert.deepEqual(got, { mode: "gallery", main: [12, 10, 11], strip: [1] });
});

test("a tutor alone sees themselves", () => {
  assert.deepEqual(stageLayout({ role: "tutor", me: 1, shown: [TUTOR] }), {
    mode: "gallery",
    main: [1],
    strip: [],
  });
});

test("a student sees the tutor large, the classmates and themselves small", () => {
  const got = stageLayout({ role: "student", me: 11, shown: [TUTOR, ...students(3)] });
  assert.deepEqual(got, { mode: "speaker", main: [1], strip: [10, 12, 11] });
});

test("a student sees the spotlighted classmate large", () => {
  const got = stageLayout({ role: "student", me: 11, shown: [TUTOR, ...students(3)], spotlight: 12 });
  assert.deepEqual(got, { mode: "speaker", main: [12], strip: [1, 10, 11] });
});

test("a spotlighted student still sees the tutor large, not themselves", () => {
  const got = stageLayout({ role: "student", me: 11, shown: [TUTOR, ...students(2)], spotlight: 11 });
  assert.deepEqual(got, { mode: "speaker", main: [1], strip: [10, 11] });
});

test("an observer sees the tutor large and has no tile of their own", () => {
  const got = stageLayout({ role: "observer", me: 99, shown: [TUTOR, ...students(2)] });
  assert.deepEqual(got, { mode: "speaker", main: [1], strip: [10, 11] });
});

test("before the tutor arrives, a student sees the classmates", () => {
  const got = stageLayout({ role: "student", me: 10, shown: students(3) });
  assert.deepEqual(got, { mode: "gallery", main: [11, 12], strip: [10] });
});

test("a shared screen is larger than anyone; the speaker leads the strip", () => {
  const got = stageLayout({ role: "student", me: 10, shown: [TUTOR, ...students(2)], screen: true });
  assert.deepEqual(got, { mode: "screen", main: [], strip: [1, 11, 10] });
});

const shape = (g) => `${g.columns}x${g.rows}`;
const LAPTOP = { width: 920, height: 540 }; // a 1280x800 window's stage beside the chat
const PHONE = { width: 366, height: 420 }; // a 390x844 phone's, under the page's header

test("gallery grids for 1 to 12 students on a laptop's landscape stage", () => {
  const got = Array.from({ length: 12 }, (_, i) => shape(galleryGrid(i + 1, LAPTOP)));
  assert.deepEqual(got, ["1x1", "2x1", "2x2", "2x2", "3x2", "3x2", "3x3", "3x3", "3x3", "4x3", "4x3", "4x3"]);
});

test("gallery grids on a phone's portrait stage have more rows than columns", () => {
  const got = [1, 2, 3, 4, 6, 9, 12].map((n) => shape(galleryGrid(n, PHONE)));
  assert.deepEqual(got, ["1x1", "1x2", "1x3", "2x2", "2x3", "3x3", "3x4"]);
});

test("tiles keep the camera's shape and fit the stage, gaps included", () => {
  for (const space of [LAPTOP, PHONE, { width: 1200, height: 300 }]) {
    for (let n = 1; n <= 12; n++) {
      const g = galleryGrid(n, { ...space, gap: 8 });
      assert.ok(g.columns * g.rows >= n, `${n}: ${shape(g)}`);
      assert.ok((g.columns - 1) * g.rows < n, `${n}: ${shape(g)} leaves a column empty`);
      assert.ok(g.columns * g.tileWidth + 8 * (g.columns - 1) <= space.width, `${n}: too wide`);
      assert.ok(g.rows * g.tileHeight + 8 * (g.rows - 1) <= space.height, `${n}: too tall`);
      assert.ok(Math.abs(g.tileWidth / g.tileHeight - 4 / 3) < 0.02, `${n}: ${g.tileWidth}x${g.tileHeight}`);
    }
  }
});

test("more students never get larger tiles", () => {
  let last = Infinity;
  for (let n = 1; n <= 12; n++) {
    const { tileWidth } = galleryGrid(n, LAPTOP);
    assert.ok(tileWidth <= last, `${n}`);
    last = tileWidth;
  }
});
