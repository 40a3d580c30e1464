import { test } from "node:test";
import assert from "node:assert/strict";
import { alertText, newAlerts, substituteReasons } from "../../web/static/school/view.js";

const S = {
  alert_late: "{tutor} is not in “{topic}”, which started at {time}.",
  alert_late_nobody: "Nobody is teaching “{topic}”, which started at {time}.",
  alert_dropped: "{tutor} dropped out of “{topic}” and has not come back.",
  substitute_online: "online",
  substitute_until: "can substitute until {time}",
  taught_level: "has taught this level",
  within_availability: "available then",
  load: "classes this week: {n}",
};
const at = (iso) => iso.slice(11, 16);
const ALERT = { kind: "late", tutor: "Ayu", topic: "Small talk", starts_at: "2026-11-30T07:00:00Z" };

test("an alert names the missing tutor, the class and its start", () => {
  assert.equal(alertText(ALERT, S, at), "Ayu is not in “Small talk”, which started at 07:00.");
  assert.equal(
    alertText({ ...ALERT, tutor: null }, S, at),
    "Nobody is teaching “Small talk”, which started at 07:00.",
  );
  assert.equal(
    alertText({ ...ALERT, kind: "dropped" }, S, at),
    "Ayu dropped out of “Small talk” and has not come back.",
  );
});

test("a substitute's reasons come best first, the load always", () => {
  const best = {
    online: true,
    substitute_until: "2026-11-30T09:00:00Z",
    qualified: true,
    available: true,
    load: 2,
  };
  assert.deepEqual(substituteReasons(best, S, at), [
    "online",
    "can substitute until 09:00",
    "has taught this level",
    "available then",
    "classes this week: 2",
  ]);
  const none = { online: false, substitute_until: null, qualified: false, available: false, load: 0 };
  assert.deepEqual(substituteReasons(none, S, at), ["classes this week: 0"]);
});

test("new alerts are those not seen in the previous snapshot", () => {
  assert.deepEqual(newAlerts(null, [{ alert_id: 1 }]), [1]);
  assert.deepEqual(newAlerts([{ alert_id: 1 }], [{ alert_id: 2 }, { alert_id: 1 }]), [2]);
  assert.deepEqual(newAlerts([{ alert_id: 1 }], []), []);
});
