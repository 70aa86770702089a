import { listScripts } from "../../gateway/scripts.js";
import { getFieldValue } from "../../vault/record.js";
import { line, printJson } from "../context.js";
import { refuseKeeperVault } from "../keeper-refusal.js";
import type { CommandRun } from "../registry.js";
import { resolveRecord } from "../resolve.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  refuseKeeperVault(ctx.env, "rekey record script list", "scripts");
  const store = await ctx.vault();
  const user = resolveRecord(store, ref!);
  const rows = listScripts(user.record).map((s, i) => {
    const file = store.getRecord(s.fileRef);
    const attached = s.recordRef.map((uid) => ({ uid, title: store.getRecord(uid)?.record.title ?? null }));
    return {
      position: i + 1,
      fileRef: s.fileRef,
      fileName: file ? getFieldValue(file.record, "fileName") || file.record.title : null,
      command: s.command,
      recordRef: attached,
    };
  });
  if (opts.json) return printJson(ctx.stdout, rows);
  if (rows.length === 0) {
    line(ctx.stdout, `"${user.record.title}" has no post-rotation script`);
    return;
  }
  ctx.stdout.write(
    renderTable(
      ["#", "FILE", "FILE UID", "COMMAND", "RECORDS"],
      rows.map((r) => [
        String(r.position),
        r.fileName ?? "(missing)",
        r.fileRef,
        r.command,
        r.recordRef.map((a) => (a.title ? `${a.title} (${a.uid})` : `${a.uid} (missing)`)).join(", "),
      ]),
    ),
  );
};
