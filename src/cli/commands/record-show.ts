import { printJson } from "../context.js";
import { maskRecord, renderRecord } from "../record-view.js";
import type { CommandRun } from "../registry.js";
import { resolveRecord } from "../resolve.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const store = await ctx.vault();
  const stored = resolveRecord(store, ref!);
  const record = opts.reveal ? stored.record : maskRecord(stored.record);
  const folder = stored.folderUid
    ? (store.listFolders().find((f) => f.uid === stored.folderUid)?.name ?? null)
    : null;
  if (opts.reveal) store.appendAudit({ action: "record.reveal", recordUid: stored.uid, actor: ctx.actor });
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
