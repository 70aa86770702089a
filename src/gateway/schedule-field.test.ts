import assert from "node:assert/strict";
import { test } from "node:test";
import { newRecord, setFieldValue } from "../vault/record.js";
import { parseSchedule } from "./schedule.js";
import {
  clearRecordSchedule,
  effectiveSchedule,
  readRecordSchedule,
  SCHEDULE_LABEL,
  setRecordSchedule,
} from "./schedule-field.js";

test("a schedule is stored as a Keeper schedule field and read back", () => {
  const user = newRecord("pamUser", "alice (AWS)");
  const s = parseSchedule("0 0 4 * * ?");
  const saved = setRecordSchedule(user, s);
  assert.equal(user.custom.length, 0, "the input record is not changed");
  assert.deepEqual(
    saved.custom.find((f) => f.label === SCHEDULE_LABEL),
    {
      type: "schedule",
      label: "rotationSchedule",
      value: [{ type: "CRON", cron: "0 0 4 * * ?", tz: "Etc/UTC" }],
    },
  );
  assert.deepEqual(readRecordSchedule(saved), s);
});

test("none is stored as [] and opts out of the configuration's default; clearing inherits again", () => {
  const config = newRecord("pamAwsConfiguration", "AWS prod");
  setFieldValue(config, "defaultRotationSchedule", [{ type: "DAILY", time: "04:00:00", tz: "Etc/UTC" }]);
  const user = newRecord("pamUser", "alice");

  assert.equal(readRecordSchedule(user), undefined);
  const inherited = effectiveSchedule(user, config);
  assert.equal(inherited.source, "configuration");
  assert.equal(inherited.schedule.kind, "cron");

  const optedOut = setRecordSchedule(user, parseSchedule("none"));
  assert.deepEqual(optedOut.custom[0]?.value, []);
  assert.deepEqual(effectiveSchedule(optedOut, config), { schedule: { kind: "none" }, source: "record" });

  const back = clearRecordSchedule(optedOut);
  assert.equal(effectiveSchedule(back, config).source, "configuration");
});

test("a new configuration's empty default is no default", () => {
  const config = newRecord("pamAwsConfiguration", "AWS prod");
  assert.deepEqual(effectiveSchedule(newRecord("pamUser", "bob"), config), {
    schedule: { kind: "none" },
    source: "none",
  });
});

test("reads liberally: a JSON string or schedule text in the field", () => {
  const user = newRecord("pamUser", "carol");
  setFieldValue(user, SCHEDULE_LABEL, ['{"type":"CRON","cron":"0 0 4 * * ?"}'], { type: "schedule" });
  assert.equal(readRecordSchedule(user)?.kind, "cron");
  setFieldValue(user, SCHEDULE_LABEL, ["every 12h"]);
  assert.deepEqual(readRecordSchedule(user), { kind: "every", everyMs: 43_200_000, text: "12h" });
});

test("a bad stored schedule names the record and how to fix it", () => {
  const user = newRecord("pamUser", "dave");
  setFieldValue(user, SCHEDULE_LABEL, [{ type: "WEEKLY" }], { type: "schedule" });
  assert.throws(
    () => readRecordSchedule(user),
    (err: Error & { hint?: string }) =>
      /record "dave" has an invalid rotationSchedule/.test(err.message) &&
      /rekey record schedule/.test(err.hint ?? ""),
  );
});
