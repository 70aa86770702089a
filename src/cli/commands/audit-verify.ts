import { readFileSync } from "node:fs";
import { integrityError, usageError } from "../../errors.js";
import { capabilitiesOf, requireCapability } from "../../vault/store-capabilities.js";
import { line, printJson } from "../context.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const expected = expectedHead(opts);
  const store = await ctx.asyncVault();
  // Without a signed head (a Keeper vault) the audit log is still checked; an expected head cannot be.
  if (expected) requireCapability(store, "integrityHead", "rekey audit verify --expect-head/--head-file");
  const withHead = capabilitiesOf(store).integrityHead;
  const result = await store.verifyAudit();
  if (!result.ok) {
    if (opts.json) printJson(ctx.stdout, result);
    const p = result.problem;
    throw integrityError(
      `the audit log is broken${p ? ` at entry ${p.seq}: ${p.reason}` : ""}`,
      "the vault file was modified outside rekey: restore it from a backup and investigate who changed it",
    );
  }
  if (!withHead) {
    if (opts.json) return printJson(ctx.stdout, result);
    line(ctx.stdout, `audit log OK: ${result.entries} entries, hash chain intact`);
    line(ctx.stdout, `${store.description} has no signed head: only its audit log was checked`);
    return;
  }
  requireCapability(store, "integrityHead", "rekey audit verify");
  // Deleted or rolled-back rows, and (with an expected head) a rolled-back file: integrity errors, exit 6.
  const { generation } = await store.checkIntegrity(expected ?? {});
  if (opts.json) return printJson(ctx.stdout, { ...result, generation, head: await store.head() });
  line(ctx.stdout, `audit log OK: ${result.entries} entries, hash chain intact`);
  line(
    ctx.stdout,
    `vault OK: every row matches the signed head (generation ${generation})${expected ? `, which matches or continues ${expected.from}` : ""}`,
  );
};

function expectedHead(opts: Record<string, unknown>): { expectHead: string; from: string } | undefined {
  if (typeof opts.expectHead === "string" && typeof opts.headFile === "string") {
    throw usageError("give --expect-head or --head-file, not both", "pick one");
  }
  if (typeof opts.expectHead === "string") return { expectHead: opts.expectHead, from: "the expected head" };
  if (typeof opts.headFile !== "string") return undefined;
  try {
    return { expectHead: readFileSync(opts.headFile, "utf8").trim(), from: `head file ${opts.headFile}` };
  } catch (err) {
    throw usageError(
      `cannot read the head file ${opts.headFile}: ${(err as Error).message}`,
      "give the path of a file holding the line `rekey audit head` printed",
    );
  }
}
