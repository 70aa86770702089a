/**
 * `rekey doctor [RECORD…]`: for each record (default: every record that manages an IAM user), prove what
 * its next rotation needs, changing nothing: the vault opens; the admin credentials authenticate; the IAM
 * actions its strategy needs are allowed where IAM lets us check (rotation/preflight.ts); the user exists
 * with its pinned UserId; the 2-key limit leaves room (the engine's dry run, its planner); its scripts'
 * commands exist. One line per check; exit 0 when nothing failed (warnings allowed), 1 otherwise.
 */
import { partitionOf } from "../../providers/aws-iam/endpoints.js";
import { preflightRecord } from "../../rotation/preflight.js";
import { configurationFor, managesIamUser } from "../../rotation/same-user.js";
import type { AsyncVaultStore } from "../../vault/async-store.js";
import { findRecord } from "../../vault/find-record.js";
import type { StoredRecord } from "../../vault/store.js";
import { line, printJson } from "../context.js";
import { scriptChecks } from "../doctor-scripts.js";
import { type DoctorLine, doctorExitCode, doctorSummary, renderDoctor } from "../doctor-view.js";
import type { CommandRun } from "../registry.js";

const msg = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n").join("; ");
const hintOf = (err: unknown, dflt: string) =>
  err && typeof err === "object" && "hint" in err && typeof err.hint === "string" && err.hint
    ? err.hint
    : dflt;

export const run: CommandRun = async (ctx, rawArgs, opts) => {
  // A variadic argument arrives as one array (as in `rekey repair`).
  const refs = (rawArgs as unknown as Array<string | string[]>).flat();
  const region = typeof opts.region === "string" ? opts.region : undefined;
  if (region !== undefined) partitionOf(region); // a bad --region is a usage error, before the vault opens
  const endpointUrl = typeof opts.endpointUrl === "string" ? opts.endpointUrl : undefined;
  const lines: DoctorLine[] = [];
  let checked = 0;

  let store: AsyncVaultStore | undefined;
  try {
    store = await ctx.asyncVault();
    lines.push({ record: null, status: "ok", area: "vault", check: "opens", detail: store.description });
  } catch (err) {
    lines.push({
      record: null,
      status: "FAIL",
      area: "vault",
      check: "opens",
      detail: msg(err),
      fix: hintOf(err, "check REKEY_HOME / REKEY_VAULT and the key file or passphrase"),
    });
  }
  if (store) {
    const all = await store.listRecords();
    const configurations = all.filter((r) => r.record.type === "pamAwsConfiguration");
    const targets: StoredRecord[] = [];
    for (const ref of refs) {
      try {
        targets.push(await findRecord(store, ref));
      } catch (err) {
        lines.push({
          record: null,
          status: "FAIL",
          area: "vault",
          check: `record ${ref}`,
          detail: msg(err),
          fix: hintOf(err, "give a record UID or title (`rekey record list`)"),
        });
      }
    }
    if (refs.length === 0) targets.push(...all.filter((r) => managesIamUser(r.record)));
    if (refs.length === 0 && targets.length === 0) {
      lines.push({
        record: null,
        status: "warn",
        area: "vault",
        check: "records",
        detail: "no record manages an IAM user: nothing to rotate",
        fix: "add one (`rekey record add --set login=USER`, or `rekey discover --import`)",
      });
    }
    for (const stored of targets) {
      checked++;
      const record = { uid: stored.uid, title: stored.record.title };
      const aws = await preflightRecord(
        store,
        stored,
        { env: ctx.env, endpointUrl, region, peers: all },
        ctx.actor,
      );
      const scripts = scriptChecks(stored, configurationFor(stored.record, configurations), ctx.env.PATH);
      for (const l of [...aws, ...scripts]) lines.push({ record, ...l });
    }
  }

  if (opts.json) printJson(ctx.stdout, lines);
  else {
    ctx.stdout.write(renderDoctor(lines));
    line(ctx.stdout, doctorSummary(lines, checked));
  }
  ctx.exitCode = doctorExitCode(lines);
};
