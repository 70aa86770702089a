import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { usageError } from "../../errors.js";
import { requireCapability } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, args, opts) => {
  const path = args[0] as string;
  // Checked before the vault is unlocked. A file that appears after this check is still refused unless
  // it is ours, 0600 and in a directory only we can write (readKeyFile): nobody else can plant it.
  if (existsSync(resolve(path)) && opts.useExistingKeyFile !== true) {
    throw usageError(
      `key file ${resolve(path)} already exists; rekey vault add-key-file uses an existing key file only when asked`,
      "pass --use-existing-key-file to let that file unlock the vault, or choose a new path",
    );
  }
  const store = await ctx.asyncVault();
  requireCapability(store, "localKeySlots", "rekey vault add-key-file");
  const added = await store.addKeyFileSlot(path, { actor: ctx.actor });
  const r = { ...added, keyFile: added.keyFile ?? resolve(path) };
  if (opts.json) return printJson(ctx.stdout, r);
  if (!r.added) return line(ctx.stdout, `key file ${r.keyFile} already unlocks the vault: nothing changed`);
  line(
    ctx.stdout,
    `key file ${r.keyFile}${r.created ? " created (mode 0600)" : ""} now unlocks the vault: ` +
      `set REKEY_KEY_FILE=${r.keyFile} (the passphrase keeps working)`,
  );
};
