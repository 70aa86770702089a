import { notFound, usageError } from "../../errors.js";
import { findRecord } from "../../vault/find-record.js";
import { requireCapability } from "../../vault/store-capabilities.js";
import { printJson } from "../context.js";
import { maskRecord, renderRecord } from "../record-view.js";
import type { CommandRun } from "../registry.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const store = await ctx.asyncVault();
  requireCapability(store, "recordHistory", "rekey record history");
  // A deleted record is addressed by its UID; its history stays.
  let uid: string;
  const direct = await store.history(ref!);
  if (direct.length > 0) uid = ref!;
  else uid = (await findRecord(store, ref!)).uid;
  const versions = direct.length > 0 ? direct : await store.history(uid);
  if (opts.version !== undefined) {
    const n = Number(opts.version);
    if (!Number.isInteger(n) || n < 1)
      throw usageError(`--version ${opts.version} is not a version number`, "versions start at 1");
    const v = versions.find((x) => x.revision === n);
    if (!v) {
      throw notFound(
        `record ${uid} has no version ${n}`,
        `it has versions 1..${versions.at(-1)?.revision ?? 0}`,
      );
    }
    const record = opts.reveal ? v.record : maskRecord(v.record);
    if (opts.reveal)
      await store.appendAudit({
        action: "record.reveal",
        recordUid: uid,
        actor: ctx.actor,
        details: { version: n },
      });
    if (opts.json)
      return printJson(ctx.stdout, {
        uid,
        revision: v.revision,
        savedAt: v.savedAt,
        actor: v.actor,
        deleted: v.deleted,
        ...record,
      });
    ctx.stdout.write(renderRecord(record, { uid, revision: v.revision }));
    return;
  }
  const rows = versions.map((v) => ({
    version: v.revision,
    savedAt: v.savedAt,
    actor: v.actor,
    title: v.record.title,
    deleted: v.deleted,
  }));
  if (opts.json) return printJson(ctx.stdout, rows);
  ctx.stdout.write(
    renderTable(
      ["VERSION", "SAVED", "BY", "TITLE"],
      rows.map((r) => [String(r.version), r.savedAt, r.actor, r.deleted ? `${r.title} (deleted)` : r.title]),
    ),
  );
};
