import { listScripts, removeScript } from "../../gateway/scripts.js";
import type { WriteOp } from "../../vault/async-store.js";
import { findRecord } from "../../vault/find-record.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref, which], opts) => {
  const store = await ctx.asyncVault();
  const user = await findRecord(store, ref!);
  const { record, removed } = removeScript(user.record, which!);
  // The script's file record goes too unless another record still runs it (its history is kept).
  const others = (await store.listRecords()).filter((r) => r.uid !== user.uid);
  const stillUsed = [record, ...others.map((r) => r.record)].some((r) =>
    listScripts(r).some((s) => s.fileRef === removed.fileRef),
  );
  const file = others.find((r) => r.uid === removed.fileRef);
  const fileDeleted = !stillUsed && file !== undefined && file.record.type === "file";
  const ops: WriteOp[] = [{ op: "saveRecord", uid: user.uid, record, expectedRevision: user.revision }];
  if (fileDeleted) ops.push({ op: "deleteRecord", uid: file.uid, expectedRevision: file.revision });
  await store.commit(ops, { actor: ctx.actor });
  if (opts.json) {
    return printJson(ctx.stdout, { record: user.uid, removed: removed.fileRef, fileDeleted });
  }
  line(
    ctx.stdout,
    `removed script ${removed.fileRef} (${removed.command}) from "${user.record.title}"` +
      (fileDeleted ? "; its file record was deleted (kept in history)" : ""),
  );
};
