import { describeSchedule, parseSchedule, serializeSchedule } from "../../gateway/schedule.js";
import {
  clearRecordSchedule,
  DEFAULT_SCHEDULE_LABEL,
  effectiveSchedule,
  SCHEDULE_FIELD_TYPE,
  scheduleFieldValue,
  setRecordSchedule,
} from "../../gateway/schedule-field.js";
import { computeStatus } from "../../gateway/status.js";
import { findRecord } from "../../vault/find-record.js";
import { cloneRecord, removeField, setFieldValue } from "../../vault/record.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { unreadScheduleWarning } from "../schedule-warning.js";

/** Words that drop the record's own schedule so it follows its PAM configuration's default again. */
const INHERIT = new Set(["inherit", "default"]);

export const run: CommandRun = async (ctx, [ref, text], opts) => {
  const tz = typeof opts.tz === "string" ? opts.tz : undefined;
  const inherit = INHERIT.has(text!.trim().toLowerCase());
  // Parsed before the vault opens: a typo costs no passphrase prompt.
  const schedule = inherit ? undefined : parseSchedule(text!, { tz });
  const store = await ctx.asyncVault();
  const stored = await findRecord(store, ref!);
  const isConfiguration = stored.record.type === "pamAwsConfiguration";
  let record = stored.record;
  if (isConfiguration) {
    // A PAM configuration carries the default of the users that use it.
    record = cloneRecord(record);
    if (schedule) {
      setFieldValue(record, DEFAULT_SCHEDULE_LABEL, scheduleFieldValue(schedule), {
        type: SCHEDULE_FIELD_TYPE,
      });
    } else removeField(record, DEFAULT_SCHEDULE_LABEL);
  } else {
    record = schedule ? setRecordSchedule(record, schedule) : clearRecordSchedule(record);
  }
  const saved = await store.saveRecord(stored.uid, record, {
    expectedRevision: stored.revision,
    actor: ctx.actor,
  });
  // Stored all the same: the record may be converted to pamUser next, keeping its schedule.
  const unread = unreadScheduleWarning(saved.record);
  if (unread) line(ctx.stderr, `rekey: warning: ${unread}`);
  const status = (await computeStatus(store)).find((s) => s.uid === saved.uid);
  const described = schedule
    ? describeSchedule(schedule)
    : isConfiguration
      ? "no default schedule"
      : `inherits: ${status?.schedule ?? describeSchedule(effectiveSchedule(record).schedule)}`;
  if (opts.json) {
    return printJson(ctx.stdout, {
      uid: saved.uid,
      title: saved.record.title,
      field: isConfiguration ? DEFAULT_SCHEDULE_LABEL : "rotationSchedule",
      schedule: schedule ? JSON.parse(serializeSchedule(schedule)) : null,
      description: described,
      nextRotation: status?.nextRotation ?? null,
    });
  }
  const what = isConfiguration ? "default schedule" : "schedule";
  line(ctx.stdout, `${what} of "${saved.record.title}" (${saved.uid}): ${described}`);
  if (status?.nextRotation) {
    const due = Date.parse(status.nextRotation) <= Date.now();
    line(ctx.stdout, `next rotation: ${due ? "due now" : `${status.nextRotation} (before jitter)`}`);
  }
};
