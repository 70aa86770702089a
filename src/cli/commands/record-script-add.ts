import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { usageError } from "../../errors.js";
import { findCommand } from "../../gateway/command-lookup.js";
import { newScriptFileRecord } from "../../gateway/script-file.js";
import { addScript, listScripts, parseCommand } from "../../gateway/scripts.js";
import { line, printJson } from "../context.js";
import { refuseKeeperVault } from "../keeper-refusal.js";
import type { CommandRun } from "../registry.js";
import { resolveRecord } from "../resolve.js";

export const run: CommandRun = async (ctx, [ref, file], opts) => {
  refuseKeeperVault(ctx.env, "rekey record script add", "scripts");
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
  const store = await ctx.vault();
  const user = resolveRecord(store, ref!);
  const attach = ((opts.attach as string[] | undefined) ?? []).map((r) => resolveRecord(store, r).uid);
  // The script's own record and the attachment commit together: no orphan file record on failure.
  const { fileUid, saved } = store.transaction(() => {
    const fileRecord = store.createRecord(newScriptFileRecord(basename(file!), content), {
      folderUid: user.folderUid,
      actor: ctx.actor,
    });
    const updated = addScript(user.record, { fileRef: fileRecord.uid, command, recordRef: attach });
    return {
      fileUid: fileRecord.uid,
      saved: store.saveRecord(user.uid, updated, { expectedRevision: user.revision, actor: ctx.actor }),
    };
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
