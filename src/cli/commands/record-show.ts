import { findRecord } from "../../vault/find-record.js";
import { printJson } from "../context.js";
import { maskRecord, renderRecord } from "../record-view.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  // One record read (and its folder's name): the scoped open check (sqlite-open.ts).
  const store = await ctx.asyncVault({ check: "scoped" });
  const stored = await findRecord(store, ref!);
  const record = opts.reveal ? stored.record : maskRecord(stored.record);
  const folder = stored.folderUid
    ? ((await store.listFolders()).find((f) => f.uid === stored.folderUid)?.name ?? null)
    : null;
  if (opts.reveal)
    await store.appendAudit({ action: "record.reveal", recordUid: stored.uid, actor: ctx.actor });
  if (opts.json) {
    return printJson(ctx.stdout, {
      uid: stored.uid,
      revision: stored.revision,
      folderUid: stored.folderUid,
      ...record,
    });
  }
  ctx.stdout.write(renderRecord(record, { uid: stored.uid, revision: stored.revision, folder }));
};
