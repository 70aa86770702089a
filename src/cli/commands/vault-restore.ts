import { existsSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { conflict, notFound, RekeyError, usageError } from "../../errors.js";
import { fromEntry, JOURNAL_KIND } from "../../rotation/journal.js";
import { FIELD, keyFieldText } from "../../rotation/settings.js";
import {
  type CopySummary,
  createPrivateFile,
  isVaultFileOrSide,
  openVaultReadOnly,
  placeFile,
  snapshotInto,
  verifyCopy,
} from "../../stores/sqlite/sqlite-backup.js";
import { type LocalVaultAccess, localVaultAccess } from "../../stores/sqlite/sqlite-backup-open.js";
import {
  fileTimestamp,
  journalsMissingFromBackup,
  type MissingJournal,
  type NewerRecord,
  type Refusal,
  type RestoreFacts,
  recordsNewerThanBackup,
  restoreRefusals,
} from "../../stores/sqlite/sqlite-backup-plan.js";
import {
  changedWhileRestoring,
  keepBeforeRestore,
  liveLeases,
  replaceVaultContent,
  resetHeadFile,
  storedMeta,
} from "../../stores/sqlite/sqlite-backup-restore.js";
import { openVault } from "../../stores/sqlite/sqlite-open.js";
import { unlinkQuietly } from "../../stores/sqlite/sqlite-store.js";
import type { UnlockSource } from "../../vault/keys.js";
import { getFieldValue } from "../../vault/record.js";
import type { JournalEntry, StoredRecord } from "../../vault/store.js";
import { type CommandContext, line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

/** What the backup holds, read from the checked staging copy. */
interface BackupFacts {
  summary: CopySummary;
  records: StoredRecord[];
  journal: JournalEntry[];
}

/** What the live vault holds (empty when it is missing or does not open). */
interface LiveFacts {
  facts: RestoreFacts["live"];
  head: string | undefined;
  generation: number | undefined;
  records: StoredRecord[];
  journal: JournalEntry[];
}

/** What the user can do about each refusal (--force lifts them all). */
const REFUSAL_FIX: Record<Refusal["code"], string> = {
  "live-unreadable":
    "the live vault is damaged: --force restores anyway (the damaged file is kept as <vault>.before-restore-<time>)",
  "other-vault":
    "check REKEY_HOME / REKEY_VAULT and the backup file; --force replaces this vault with the other one",
  "lease-held":
    "stop the gateway or wait for the rotation to finish, then run the command again; --force restores anyway",
  "journal-missing":
    "let the rotation finish (rekey repair), then take a new backup; --force restores anyway (the new keys named above are then unknown to the vault: rotate those records with --force afterwards)",
};

/**
 * Replace the live vault with a backup, after checking the backup (it opens with the same unlock and passes
 * `audit verify`'s checks) and the live vault (no lock held, no rotation journal the backup lacks, same
 * vault; each refusal lifted by --force). The live vault is kept as `<vault>.before-restore-<UTC time>`.
 */
export const run: CommandRun = async (ctx, [fileArg], opts) => {
  const force = opts.force === true;
  const access = await localVaultAccess(ctx.env, "rekey vault restore", {
    interactive: ctx.interactive,
    mustExist: false,
  });
  const vault = access.path;
  const file = resolve(fileArg!);
  if (!existsSync(file)) {
    throw notFound(`backup file ${file} does not exist`, "give the path of a file rekey vault backup wrote");
  }
  if (isVaultFileOrSide(file, vault))
    throw usageError(`${file} is the live vault itself`, "give the backup file");
  mkdirSync(dirname(vault), { recursive: true, mode: 0o700 });
  const staged = createPrivateFile(dirname(vault), `${basename(vault)}.restore`);
  try {
    // 1. The backup, staged beside the vault: what is checked is exactly what goes in.
    const backup = await stageBackup(file, staged, access.unlock);
    // 2. The live vault, and what restoring would lose.
    const live = await readLive(vault, access);
    const facts: RestoreFacts = {
      live: live.facts,
      backupVaultId: backup.summary.vaultId,
      leases: live.facts.state === "ok" ? liveLeases(vault) : [],
      missingJournals: journalsMissingFromBackup(live.journal, backup.journal).map(describeJournal),
    };
    const refusals = restoreRefusals(facts);
    if (refusals.length > 0 && !force) {
      throw conflict(
        `not restoring ${file}: ${refusals.map((r) => r.message).join("; ")}. Nothing was changed`,
        [...new Set(refusals.map((r) => REFUSAL_FIX[r.code]))].join("; "),
      );
    }
    // 3. Keep the live vault, then replace it.
    const stamp = fileTimestamp(new Date());
    const before =
      live.facts.state === "missing"
        ? undefined
        : keepBeforeRestore(vault, stamp, { raw: live.facts.state === "unreadable" });
    if (live.facts.state === "ok") {
      // openVault checked the signed head, so it is there; compare the copy with it byte for byte.
      if (before === undefined || live.head === undefined || storedMeta(before).head !== live.head) {
        if (before) unlinkQuietly(before);
        throw changedWhileRestoring(vault);
      }
      try {
        replaceVaultContent(vault, staged, live.head, { allowLeases: force });
      } catch (err) {
        unlinkQuietly(before); // nothing was replaced: the copy would only mislead
        throw err;
      }
    } else {
      // No live vault SQLite can read: the staged file takes its place; its old -wal must not be replayed into it.
      placeFile(staged, vault, true);
      for (const side of [`${vault}-wal`, `${vault}-shm`]) unlinkQuietly(side);
    }
    // 4. Record it in the restored vault, check it once more, reset the head file.
    const restored = await openVault(vault, access.unlock);
    let after: { generation: number; head: string };
    try {
      restored.appendAudit({
        action: "vault.restore",
        recordUid: null,
        actor: ctx.actor,
        details: {
          file,
          backupGeneration: backup.summary.generation,
          replacedGeneration: live.generation ?? null,
          beforeRestore: before ?? null,
          forced: refusals.map((r) => r.code),
        },
      });
      after = { generation: restored.checkIntegrity().generation, head: restored.head() };
    } finally {
      restored.close();
    }
    const headFile = access.expectHeadFile
      ? { path: access.expectHeadFile, kept: resetHeadFile(access.expectHeadFile, after.head, stamp) }
      : undefined;
    const newer = recordsNewerThanBackup(
      live.records,
      backup.records,
      (r) => keyFieldText(getFieldValue(r.record, FIELD.keyId)) || undefined,
    );
    reportRestore(ctx, {
      json: opts.json === true,
      file,
      vault,
      before,
      backup: backup.summary,
      ...after,
      records: backup.summary.records,
      overridden: refusals,
      missingJournals: facts.missingJournals,
      newer,
      headFile,
    });
  } finally {
    unlinkQuietly(staged);
  }
};

/** Copy the backup beside the vault and check it; a damaged backup says so (not "restore from a backup"). */
async function stageBackup(file: string, staged: string, unlock: UnlockSource): Promise<BackupFacts> {
  try {
    snapshotInto(file, staged);
    return await readBackup(staged, unlock, file);
  } catch (err) {
    if (err instanceof RekeyError && err.kind === "integrity") {
      throw new RekeyError("integrity", err.message, {
        hint: `${file} is damaged, was modified after it was written, or is not a rekey vault backup: nothing was changed; use another backup`,
        cause: err,
      });
    }
    throw err;
  }
}

async function readBackup(staged: string, unlock: UnlockSource, file: string): Promise<BackupFacts> {
  let copy: Awaited<ReturnType<typeof openVaultReadOnly>>;
  try {
    copy = await openVaultReadOnly(staged, unlock, file);
  } catch (err) {
    if (err instanceof RekeyError && err.kind === "auth") {
      throw new RekeyError(
        "auth",
        `${err.message}: the backup must open with the passphrase or key file given for the vault`,
        {
          hint: "give the passphrase or key file the backup was made with (REKEY_PASSPHRASE / REKEY_KEY_FILE); a backup of another vault opens only with that vault's",
          cause: err,
        },
      );
    }
    throw err;
  }
  try {
    return {
      summary: verifyCopy(copy),
      records: copy.store.listRecords(),
      journal: copy.store.listJournal(),
    };
  } finally {
    copy.store.close();
  }
}

async function readLive(vault: string, access: LocalVaultAccess): Promise<LiveFacts> {
  const empty = { head: undefined, generation: undefined, records: [], journal: [] };
  if (!existsSync(vault)) {
    if (existsSync(`${vault}-wal`) && statSync(`${vault}-wal`).size > 0) {
      throw conflict(
        `${vault} is missing but ${vault}-wal is there: SQLite would replay it into the restored vault`,
        `move ${vault}-wal and ${vault}-shm away, then run the command again`,
      );
    }
    return { facts: { state: "missing" }, ...empty };
  }
  let store: Awaited<ReturnType<typeof openVault>>;
  try {
    store = await openVault(
      vault,
      access.unlock,
      access.expectHeadFile ? { expectHeadFile: access.expectHeadFile } : {},
    );
  } catch (err) {
    // A wrong passphrase or key file is the user's to fix; a damaged or tampered vault is a reason to restore.
    if (err instanceof RekeyError && err.kind === "integrity") {
      return { facts: { state: "unreadable", why: err.message }, ...empty };
    }
    throw err;
  }
  try {
    // The head first: a write after this point changes it, and the restore transaction then refuses.
    const meta = storedMeta(vault);
    return {
      facts: { state: "ok", vaultId: meta.vaultId ?? "" },
      head: meta.head,
      generation: store.checkIntegrity().generation,
      records: store.listRecords(),
      journal: store.listJournal(),
    };
  } finally {
    store.close();
  }
}

/** A live journal entry the backup lacks, with the key ids it names (the new key first); never its secret. */
function describeJournal(j: JournalEntry): MissingJournal {
  let keyIds: string[] = [];
  if (j.kind === JOURNAL_KIND) {
    try {
      const r = fromEntry(j);
      keyIds = [
        ...new Set([r.newKey?.accessKeyId, r.previousCurrentKeyId].filter((k): k is string => Boolean(k))),
      ];
    } catch {
      // not a rotation this rekey reads: its id and record still say enough
    }
  }
  return { id: j.id, recordUid: j.recordUid, kind: j.kind, updatedAt: j.updatedAt, keyIds };
}

// ---- the report (text or --json; no secret) ------------------------------------------------------------

interface RestoreReport {
  json: boolean;
  file: string;
  vault: string;
  /** Where the replaced vault was kept (undefined: there was none). */
  before: string | undefined;
  backup: CopySummary;
  /** The restored vault, after its vault.restore audit entry. */
  generation: number;
  head: string;
  records: number;
  /** Refusals --force lifted. */
  overridden: Refusal[];
  missingJournals: MissingJournal[];
  newer: NewerRecord[];
  headFile: { path: string; kept: string | undefined } | undefined;
}

function reportRestore(ctx: CommandContext, r: RestoreReport): void {
  if (r.json) {
    printJson(ctx.stdout, {
      restored: r.file,
      vault: r.vault,
      beforeRestore: r.before ?? null,
      backupGeneration: r.backup.generation,
      generation: r.generation,
      head: r.head,
      records: r.records,
      forced: r.overridden.map((o) => o.code),
      lostJournalKeyIds: r.missingJournals.flatMap((j) => j.keyIds),
      newerInReplacedVault: r.newer,
      headFile: r.headFile ?? null,
    });
    return;
  }
  line(
    ctx.stdout,
    `restored ${r.file} into ${r.vault}: ${r.records} record(s), backup generation ${r.backup.generation}, now generation ${r.generation}`,
  );
  if (r.before) line(ctx.stdout, `the replaced vault is kept as ${r.before} (mode 0600)`);
  for (const o of r.overridden)
    line(ctx.stderr, `rekey: warning: restored with --force although ${o.message}`);
  const lostKeys = r.missingJournals.flatMap((j) => j.keyIds);
  if (lostKeys.length > 0) {
    line(
      ctx.stderr,
      `rekey: warning: key(s) named by the dropped rotation journal: ${lostKeys.join(", ")}; their secrets are only in ${r.before ?? "the replaced vault"}`,
    );
  }
  if (r.newer.length > 0) {
    line(
      ctx.stderr,
      "rekey: warning: keys rotated after the backup was taken are not in the restored vault. These records were newer in the replaced vault:",
    );
    for (const n of r.newer) {
      const where = n.backupRevision === null ? "not in the backup" : `backup revision ${n.backupRevision}`;
      const key = n.keyChanged ? "; its key changed since: IAM may have deleted the key restored" : "";
      line(ctx.stderr, `  "${n.title}" ${n.uid}: revision ${n.liveRevision} replaced by ${where}${key}`);
    }
    line(
      ctx.stderr,
      "  rotate each record whose key changed with `rekey rotate RECORD --force` now (its old key may be gone), or restore the replaced vault instead",
    );
  }
  if (r.headFile) {
    line(
      ctx.stdout,
      `REKEY_EXPECT_HEAD_FILE ${r.headFile.path} now holds the restored head${r.headFile.kept ? ` (the previous line is kept in ${r.headFile.kept})` : ""}; head lines kept elsewhere now report this vault as rolled back, as they should`,
    );
  } else {
    line(
      ctx.stdout,
      `new head: ${r.head} (head lines kept before the restore report this vault as rolled back: rekey audit verify --expect-head)`,
    );
  }
}
