import { findRecord } from "../../vault/find-record.js";
import { convertRecord } from "../../vault/record.js";
import { line } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const store = await ctx.asyncVault();
  const stored = await findRecord(store, ref!);
  const converted = convertRecord(stored.record, String(opts.type));
  const saved = await store.saveRecord(stored.uid, converted, {
    expectedRevision: stored.revision,
    actor: ctx.actor,
  });
  line(
    ctx.stdout,
    `converted "${saved.record.title}" ${saved.uid}: ${stored.record.type} → ${saved.record.type}`,
  );
};
