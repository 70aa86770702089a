import { usageError } from "../../errors.js";
import { parseJsonSafely } from "../../json.js";
import { findFolder } from "../../vault/find-record.js";
import { type KeeperRecord, newRecord, parseRecord } from "../../vault/record.js";
import { requireCapability } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import { applySecrets, applySets, readSecretValues, refuseBadSettings } from "../field-args.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const sets = (opts.set as string[] | undefined) ?? [];
  const secrets = (opts.secret as string[] | undefined) ?? [];
  let record: KeeperRecord;
  if (opts.fromJson) {
    if (secrets.length > 0)
      throw usageError("--from-json and --secret both read stdin", "put the secrets in the JSON");
    const parsed = parseJsonSafely(await ctx.readStdin(), "stdin", {
      hint: "give one Keeper v3 record as JSON on stdin",
    });
    record = parseRecord(parsed, "the record on stdin");
  } else {
    if (typeof opts.title !== "string")
      throw usageError("a new record needs --title", "add --title 'alice (AWS)'");
    record = newRecord(String(opts.type), opts.title, typeof opts.notes === "string" ? opts.notes : "");
  }
  applySets(record, sets);
  applySecrets(record, secrets, await readSecretValues(ctx, secrets));
  refuseBadSettings(record);
  const store = await ctx.asyncVault();
  const folderUid = typeof opts.folder === "string" ? (await findFolder(store, opts.folder)).uid : null;
  if (folderUid === null) requireCapability(store, "recordsAtRoot", "rekey record add without --folder");
  const saved = await store.createRecord(record, { folderUid, actor: ctx.actor });
  if (opts.json) printJson(ctx.stdout, { uid: saved.uid, revision: saved.revision });
  else line(ctx.stdout, `added ${saved.record.type} record "${saved.record.title}" ${saved.uid}`);
};
