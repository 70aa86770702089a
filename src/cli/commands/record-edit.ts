import { usageError } from "../../errors.js";
import { parseJsonSafely } from "../../json.js";
import { findRecord } from "../../vault/find-record.js";
import { cloneRecord, parseRecord, removeField } from "../../vault/record.js";
import { line } from "../context.js";
import { applySecrets, applySets, readSecretValues, refuseBadSettings } from "../field-args.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, [ref], opts) => {
  const sets = (opts.set as string[] | undefined) ?? [];
  const secrets = (opts.secret as string[] | undefined) ?? [];
  const unsets = (opts.unset as string[] | undefined) ?? [];
  const nothing = sets.length + secrets.length + unsets.length === 0 && !opts.fromJson;
  if (nothing && opts.title === undefined && opts.notes === undefined) {
    throw usageError("nothing to change", "give --set, --secret, --unset, --title, --notes or --from-json");
  }
  // Read stdin before opening the vault: no lock or transaction is held while we wait for input.
  const secretValues = await readSecretValues(ctx, secrets);
  const jsonText = opts.fromJson ? await ctx.readStdin() : undefined;
  const store = await ctx.asyncVault();
  const stored = await findRecord(store, ref!);
  let record = cloneRecord(stored.record);
  if (jsonText !== undefined) {
    const parsed = parseJsonSafely(jsonText, "stdin", { hint: "give one Keeper v3 record as JSON on stdin" });
    record = parseRecord(parsed, "the record on stdin");
  }
  applySets(record, sets);
  applySecrets(record, secrets, secretValues);
  for (const u of unsets) {
    if (!removeField(record, u))
      throw usageError(
        `record "${record.title}" has no field "${u}" to remove`,
        "check the name with rekey record show",
      );
  }
  if (typeof opts.title === "string") record.title = opts.title;
  if (typeof opts.notes === "string") record.notes = opts.notes;
  refuseBadSettings(record, stored.record);
  const saved = await store.saveRecord(stored.uid, record, {
    expectedRevision: stored.revision,
    actor: ctx.actor,
  });
  line(ctx.stdout, `saved "${saved.record.title}" ${saved.uid} revision ${saved.revision}`);
};
