import { listScripts, removeScript } from "../../gateway/scripts.js";
import { line, printJson } from "../context.js";
import { refuseKeeperVault } from "../keeper-refusal.js";
import type { CommandRun } from "../registry.js";
import { resolveRecord } from "../resolve.js";

export const run: CommandRun = async (ctx, [ref, which], opts) => {
  refuseKeeperVault(ctx.env, "rekey record script rm", "scripts");
  const store = await ctx.vault();
  const user = resolveRecord(store, ref!);
  const { record, removed } = removeScript(user.record, which!);
  const fileDeleted = store.transaction(() => {
    store.saveRecord(user.uid, record, { expectedRevision: user.revision, actor: ctx.actor });
    // The script's file record goes too unless another record still runs it (its history is kept).
    const stillUsed = store
      .listRecords()
      .some((r) => listScripts(r.record).some((s) => s.fileRef === removed.fileRef));
    const file = store.getRecord(removed.fileRef);
    if (stillUsed || !file || file.record.type !== "file") return false;
    store.deleteRecord(file.uid, { expectedRevision: file.revision, actor: ctx.actor });
    return true;
  });
  if (opts.json) {
    return printJson(ctx.stdout, { record: user.uid, removed: removed.fileRef, fileDeleted });
  }
  line(
    ctx.stdout,
    `removed script ${removed.fileRef} (${removed.command}) from "${user.record.title}"` +
      (fileDeleted ? "; its file record was deleted (kept in history)" : ""),
  );
};
