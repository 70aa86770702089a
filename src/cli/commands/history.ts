import { usageError } from "../../errors.js";
import type { RotationAttempt } from "../../gateway/history-model.js";
import { parseAttempt } from "../../gateway/history-schema.js";
import { findRecord } from "../../vault/find-record.js";
import { printJson } from "../context.js";
import { renderHistory } from "../gateway-view.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw usageError(`--limit ${String(opts.limit)} is not a positive number`, "e.g. --limit 20");
  const store = await ctx.asyncVault();
  // A deleted record's history stays addressable by its UID.
  const recordUid =
    ref === undefined
      ? undefined
      : (await store.listRotationHistory({ recordUid: ref, limit: 1 })).length > 0
        ? ref
        : (await findRecord(store, ref)).uid;
  const entries: RotationAttempt[] = [];
  for (const raw of await store.listRotationHistory({
    ...(recordUid ? { recordUid } : {}),
    ...(limit ? { limit } : {}),
  })) {
    try {
      entries.push(parseAttempt(raw));
    } catch {
      // written by a newer rekey: not shown rather than shown wrong
    }
  }
  if (opts.json) return printJson(ctx.stdout, entries);
  ctx.stdout.write(renderHistory(entries, opts.scripts === true));
};
