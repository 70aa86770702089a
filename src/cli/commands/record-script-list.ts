import { listScripts } from "../../gateway/scripts.js";
import { findRecord } from "../../vault/find-record.js";
import { getFieldValue } from "../../vault/record.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { renderTable } from "../table.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const store = await ctx.asyncVault();
  const user = await findRecord(store, ref!);
  const scripts = listScripts(user.record);
  // One read for every record the scripts name (one KSM request on a Keeper vault, not one per UID).
  const named = new Map(
    (await store.listRecords())
      .filter((r) => scripts.some((s) => s.fileRef === r.uid || s.recordRef.includes(r.uid)))
      .map((r) => [r.uid, r]),
  );
  const rows = scripts.map((s, i) => {
    const file = named.get(s.fileRef);
    const attached = s.recordRef.map((uid) => ({ uid, title: named.get(uid)?.record.title ?? null }));
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
