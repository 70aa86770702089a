import { integrityError } from "../../errors.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const result = (await ctx.vault()).verifyAudit();
  if (opts.json) printJson(ctx.stdout, result);
  if (!result.ok) {
    const p = result.problem;
    throw integrityError(
      `the audit log is broken${p ? ` at entry ${p.seq}: ${p.reason}` : ""}`,
      "the vault file was modified outside rekey: restore it from a backup and investigate who changed it",
    );
  }
  if (!opts.json) line(ctx.stdout, `audit log OK: ${result.entries} entries, hash chain intact`);
};
