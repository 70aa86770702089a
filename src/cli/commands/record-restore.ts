import { conflict, notFound, usageError } from "../../errors.js";
import { fieldName, isKeyStateField, withCurrentKeyState } from "../../rotation/key-state-fields.js";
import type { AsyncVaultStore } from "../../vault/async-store.js";
import { findRecord } from "../../vault/find-record.js";
import type { KeeperRecord } from "../../vault/record.js";
import { diffRecords } from "../../vault/record-diff.js";
import { requireCapability } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import { refuseBadSettings } from "../field-args.js";
import type { CommandRun } from "../registry.js";

/**
 * Bring version N of a record back as a new revision. The key state fields keep their current values
 * (key-state-fields.ts): the old version's key may be one IAM has deleted since. The save is an ordinary
 * save on the revision read, so the replaced version stays in the history and a concurrent change is a
 * conflict, not a silent overwrite.
 */
export const run: CommandRun = async (ctx, [ref], opts) => {
  const n = versionNumber(opts.version);
  const store = await ctx.asyncVault();
  requireCapability(store, "recordHistory", "rekey record restore");
  const current = (await store.getRecord(ref!)) ?? (await deletedOrResolve(store, ref!));
  const versions = await store.history(current.uid);
  const version = versions.find((v) => v.revision === n);
  const name = `"${current.record.title}" (${current.uid})`;
  if (!version) {
    throw notFound(
      `record ${name} has no version ${n}`,
      `it has versions 1..${versions.at(-1)?.revision ?? 0}: see rekey record history ${current.uid}`,
    );
  }
  if (n === current.revision) {
    if (opts.json)
      return printJson(ctx.stdout, { uid: current.uid, revision: current.revision, changed: false });
    return line(ctx.stdout, `version ${n} is the current revision of ${name}: nothing to restore`);
  }
  const restored = withCurrentKeyState(version.record, current.record);
  const changes = diffRecords(current.record, restored);
  const keptKeyFields = keyStateDifferences(version.record, current.record);
  if (changes.fieldsChanged.length === 0 && changes.propertiesChanged.length === 0) {
    if (opts.json)
      return printJson(ctx.stdout, {
        uid: current.uid,
        revision: current.revision,
        changed: false,
        keptKeyFields,
      });
    return line(
      ctx.stdout,
      `version ${n} of ${name} differs from revision ${current.revision} only in its key state, which is kept: nothing to restore`,
    );
  }
  refuseBadSettings(restored, current.record);
  const saved = await store.saveRecord(current.uid, restored, {
    expectedRevision: current.revision,
    actor: ctx.actor, // "rekey record restore"
  });
  if (opts.json) {
    return printJson(ctx.stdout, {
      uid: saved.uid,
      title: saved.record.title,
      restoredVersion: n,
      previousRevision: current.revision,
      revision: saved.revision,
      changed: true,
      ...changes,
      keptKeyFields,
    });
  }
  line(
    ctx.stdout,
    `restored version ${n} of "${saved.record.title}" ${saved.uid} as revision ${saved.revision} (revision ${current.revision} stays in its history)`,
  );
  const changed = [...changes.propertiesChanged, ...changes.fieldsChanged];
  line(ctx.stdout, `changed: ${changed.join(", ")}`);
  if (keptKeyFields.length > 0) {
    line(
      ctx.stdout,
      `kept the current key state (version ${n} held older values): ${keptKeyFields.join(", ")}`,
    );
  }
};

function versionNumber(value: unknown): number {
  if (value === undefined) {
    throw usageError(
      "--version is required: which version to restore",
      "list the versions with rekey record history RECORD, then give --version N",
    );
  }
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw usageError(`--version ${String(value)} is not a version number`, "versions are 1, 2, 3, ...");
  }
  return n;
}

/** A deleted record cannot be brought back by a save (its UID is never reused): say so. */
async function deletedOrResolve(store: AsyncVaultStore, ref: string) {
  const history = await store.history(ref);
  if (history.at(-1)?.deleted) {
    throw conflict(
      `record ${ref} was deleted: record restore brings back versions of a live record`,
      `see its versions with rekey record history ${ref} --version N --reveal, and add it again with rekey record add --from-json`,
    );
  }
  return findRecord(store, ref);
}

/** Key state field names whose value in `version` differs from `current` (names only, never values). */
function keyStateDifferences(version: KeeperRecord, current: KeeperRecord): string[] {
  const values = (r: KeeperRecord) =>
    new Map(
      [...r.fields, ...r.custom]
        .filter((f) => isKeyStateField(fieldName(f)))
        .map((f) => [fieldName(f), JSON.stringify(f.value)] as const),
    );
  const a = values(version);
  const b = values(current);
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((k) => a.get(k) !== b.get(k));
}
