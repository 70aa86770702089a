import { notFound } from "../../errors.js";
import { findRecord } from "../../vault/find-record.js";
import { getFieldValue } from "../../vault/record.js";
import type { CommandRun } from "../registry.js";

/** Prints one raw value, newline-terminated, for scripts: `KEY=$(rekey record get alice aws_access_key_id)`. */
export const run: CommandRun = async (ctx, [ref, field]) => {
  // One record read, one audit entry written: the scoped open check (sqlite-open.ts).
  const store = await ctx.asyncVault({ check: "scoped" });
  const stored = await findRecord(store, ref!);
  const value = getFieldValue(stored.record, field!);
  if (value === undefined) {
    throw notFound(
      `record "${stored.record.title}" has no field "${field}"`,
      `see its fields: rekey record show ${stored.uid}`,
    );
  }
  await store.appendAudit({
    action: "record.get",
    recordUid: stored.uid,
    actor: ctx.actor,
    details: { field },
  });
  ctx.stdout.write(`${value}\n`);
};
