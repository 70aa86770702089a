import { findRecord } from "../../vault/find-record.js";
import { line } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref]) => {
  const store = await ctx.asyncVault();
  const stored = await findRecord(store, ref!);
  await store.deleteRecord(stored.uid, { expectedRevision: stored.revision, actor: ctx.actor });
  line(
    ctx.stdout,
    `deleted "${stored.record.title}" ${stored.uid} (its history is kept: rekey record history ${stored.uid})`,
  );
};
