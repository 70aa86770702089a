import { line } from "../context.js";
import type { CommandRun } from "../registry.js";
import { resolveRecord } from "../resolve.js";

export const run: CommandRun = async (ctx, [ref]) => {
  const store = await ctx.vault();
  const stored = resolveRecord(store, ref!);
  store.deleteRecord(stored.uid, { expectedRevision: stored.revision, actor: ctx.actor });
  line(
    ctx.stdout,
    `deleted "${stored.record.title}" ${stored.uid} (its history is kept: rekey record history ${stored.uid})`,
  );
};
