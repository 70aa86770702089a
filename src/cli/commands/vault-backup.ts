import { backupVault } from "../../stores/sqlite/sqlite-backup.js";
import { localVaultAccess } from "../../stores/sqlite/sqlite-backup-open.js";
import { openVault } from "../../stores/sqlite/sqlite-open.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

/**
 * A consistent, checked copy of the live vault (sqlite-backup.ts), safe while a gateway or a rotation writes
 * to it. The live vault is opened first (same unlock, same checks as any command) and records the backup in
 * its audit log: which file, which generation; never a secret.
 */
export const run: CommandRun = async (ctx, [file], opts) => {
  const access = await localVaultAccess(ctx.env, "rekey vault backup", {
    interactive: ctx.interactive,
    mustExist: true,
  });
  const live = await openVault(
    access.path,
    access.unlock,
    access.expectHeadFile ? { expectHeadFile: access.expectHeadFile } : {},
  );
  try {
    const r = await backupVault(access.path, file!, { force: opts.force === true, unlock: access.unlock });
    live.appendAudit({
      action: "vault.backup",
      recordUid: null,
      actor: ctx.actor,
      details: { file: r.file, generation: r.generation, records: r.records, replaced: r.replaced },
    });
    const keyFile = access.unlock.keyFile;
    const outside = {
      keyFile: keyFile ?? null,
      expectHeadFile: access.expectHeadFile ?? null,
    };
    if (opts.json) {
      return printJson(ctx.stdout, {
        file: r.file,
        vault: access.path,
        bytes: r.bytes,
        replaced: r.replaced,
        records: r.records,
        generation: r.generation,
        head: r.head,
        auditEntries: r.auditEntries,
        unlockedBy: r.keySlots,
        notInBackup: outside,
      });
    }
    line(
      ctx.stdout,
      `backed up ${access.path} to ${r.file}${r.replaced ? " (replaced)" : ""}: ${r.records} record(s), generation ${r.generation}, mode 0600`,
    );
    line(
      ctx.stdout,
      `checked: audit log (${r.auditEntries} entries) and every row match the copy's signed head`,
    );
    line(ctx.stdout, `head: ${r.head}`);
    line(
      ctx.stdout,
      `it opens with this vault's ${r.keySlots.map((k) => (k === "key-file" ? "key file" : k)).join(" or ")} (the key slots are in the copy)${keyFile ? `; the key file ${keyFile} is not: keep it, or the passphrase, somewhere other than the backup` : ""}`,
    );
    if (access.expectHeadFile) {
      line(
        ctx.stdout,
        `REKEY_EXPECT_HEAD_FILE ${access.expectHeadFile} is not in the copy (rekey vault restore resets it)`,
      );
    }
  } finally {
    live.close();
  }
};
