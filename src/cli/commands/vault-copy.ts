import { usageError } from "../../errors.js";
import { copyVault } from "../../stores/copy.js";
import { resolveVaultLocation } from "../../stores/open.js";
import { resolveUnlockSource } from "../../vault/keys.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { copyJson, copyLines } from "../vault-copy-view.js";

/**
 * `rekey vault copy --to TARGET`: the vault REKEY_VAULT (or --vault) names, copied whole to TARGET and
 * verified (stores/copy.ts). The key is resolved once: it unlocks the source and the copy.
 */
export const run: CommandRun = async (ctx, _args, opts) => {
  const to = opts.to;
  if (typeof to !== "string" || !to) {
    throw usageError(
      "--to is required: the vault to copy to",
      "give --to postgres://USER@HOST:PORT/DB (password from PGPASSWORD or ~/.pgpass) or a SQLite file path",
    );
  }
  if (/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/i.test(to)) {
    line(
      ctx.stderr,
      "rekey: warning: the --to URL holds a password, which other users can see in the process list; set PGPASSWORD (or ~/.pgpass) and leave it out of the URL",
    );
  }
  const source = resolveVaultLocation(ctx.env);
  const unlock = await resolveUnlockSource(ctx.env, {
    interactive: ctx.interactive,
    vaultPath: source.backend === "keeper" ? "the Keeper vault" : source.path,
  });
  const result = await copyVault({ env: ctx.env, to, force: opts.force === true, unlock, actor: ctx.actor });
  if (opts.json) return printJson(ctx.stdout, copyJson(result));
  for (const text of copyLines(result)) line(ctx.stdout, text);
};
