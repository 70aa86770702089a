import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { usageError } from "../../errors.js";
import { findCommand } from "../../gateway/command-lookup.js";
import { newScriptFileRecord } from "../../gateway/script-file.js";
import { addScript, listScripts, parseCommand } from "../../gateway/scripts.js";
import type { AsyncVaultStore } from "../../vault/async-store.js";
import { findRecord } from "../../vault/find-record.js";
import { type KeeperRecord, newUid } from "../../vault/record.js";
import type { StoredRecord } from "../../vault/store.js";
import { capabilitiesOf } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref, file], opts) => {
  if (typeof opts.command !== "string") {
    throw usageError("--command is required: the interpreter that runs the script", 'e.g. --command "node"');
  }
  const command = parseCommand(opts.command).join(" ");
  if (!findCommand(command, ctx.env.PATH)) {
    line(
      ctx.stderr,
      `rekey: warning: command "${command.split(" ")[0]}" is not found on PATH (${ctx.env.PATH ?? ""}): the script would fail at every rotation; install it or give its full path with --command (the gateway runs scripts with its own PATH)`,
    );
  }
  let content: Buffer;
  try {
    content = readFileSync(file!);
  } catch (err) {
    throw usageError(
      `cannot read script file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "give the path of the script to attach",
    );
  }
  const store = await ctx.asyncVault();
  const user = await findRecord(store, ref!);
  const attach: string[] = [];
  for (const r of (opts.attach as string[] | undefined) ?? []) attach.push((await findRecord(store, r)).uid);
  const { fileUid, saved } = await attachScript(store, user, newScriptFileRecord(basename(file!), content), {
    actor: ctx.actor,
    with: (fileRef) => addScript(user.record, { fileRef, command, recordRef: attach }),
  });
  const position = listScripts(saved.record).findIndex((s) => s.fileRef === fileUid) + 1;
  if (opts.json) {
    return printJson(ctx.stdout, {
      record: saved.uid,
      position,
      fileRef: fileUid,
      fileName: basename(file!),
      command,
      recordRef: attach,
    });
  }
  line(
    ctx.stdout,
    `attached script ${basename(file!)} (file ${fileUid}) to "${saved.record.title}" as #${position}: ${command} ${basename(file!)}`,
  );
  if (attach.length) line(ctx.stdout, `records handed to it: ${attach.join(", ")}`);
};

/**
 * Create the script's own record (in the user's folder) and save the user record naming it. Where the
 * backend lets us choose the new UID, both go in one commit (atomic where the backend is: no orphan file
 * record on failure); else the file record is created first and deleted again if the save fails.
 */
async function attachScript(
  store: AsyncVaultStore,
  user: StoredRecord,
  fileRecord: KeeperRecord,
  o: { actor: string; with: (fileRef: string) => KeeperRecord },
): Promise<{ fileUid: string; saved: StoredRecord }> {
  const place = { folderUid: user.folderUid };
  if (capabilitiesOf(store).chosenRecordUids) {
    const fileUid = newUid();
    const { saved } = await store.commit(
      [
        { op: "createRecord", record: fileRecord, ...place, uid: fileUid },
        { op: "saveRecord", uid: user.uid, record: o.with(fileUid), expectedRevision: user.revision },
      ],
      { actor: o.actor },
    );
    return { fileUid, saved: saved[0]! };
  }
  const created = await store.createRecord(fileRecord, { ...place, actor: o.actor });
  try {
    const saved = await store.saveRecord(user.uid, o.with(created.uid), {
      expectedRevision: user.revision,
      actor: o.actor,
    });
    return { fileUid: created.uid, saved };
  } catch (err) {
    // Best effort: the save's error is the one to report.
    await store
      .deleteRecord(created.uid, { expectedRevision: created.revision, actor: o.actor })
      .catch(() => undefined);
    throw err;
  }
}
