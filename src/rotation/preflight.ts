/**
 * What a record's next rotation needs from AWS, proven without changing anything: the admin credentials
 * authenticate (the engine's source order; sts:GetCallerIdentity), the engine's own dry run (the first
 * source that may list the user's keys, the IAM user and its pinned UserId, the planner's verdict on the
 * 2-key limit), then the actions IAM lets us test without a change: GetAccessKeyLastUsed on an existing
 * key, and UpdateAccessKey / DeleteAccessKey of a key id that cannot exist (PROBE_KEY_ID; IAM authorizes
 * against the user before it looks the key up: NoSuchEntity when allowed, AccessDenied when not).
 * CreateAccessKey cannot be proven without creating a key: said as a warning.
 *
 * Used by `rekey doctor`; the Keeper drop-in's `--check` (keeper-script/script-check.ts) runs the same
 * dry run. Never a secret in a line: key ids, user names, ARNs only.
 */
import { RekeyError } from "../errors.js";
import { openCredentials } from "../providers/aws-iam/credentials.js";
import type { IamKeyPort, IamUser, KeyMeta } from "../providers/aws-iam/port.js";
import { callerIdentity } from "../providers/aws-iam/sdk-port.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import type { StoredRecord } from "../vault/store.js";
import { PROBE_KEY_ID, rotateRecord } from "./engine.js";
import { type Normalized, normalize, type Prepared, prepare } from "./session.js";
import { readKeyState } from "./settings.js";
import { strategyIamActions } from "./strategy-table.js";
import type { RotateOptions } from "./types.js";

export interface PreflightLine {
  status: "ok" | "warn" | "FAIL";
  area: string;
  check: string;
  detail: string;
  fix?: string | undefined;
}

const msg = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n").join("; ");
const hintOf = (err: unknown, dflt: string) => (err instanceof RekeyError && err.hint ? err.hint : dflt);
const isDenied = (err: unknown) => err instanceof RekeyError && err.kind === "auth";
const noWrite = () => Promise.reject(new Error("a preflight makes no AWS write"));

/** The AWS checks of one record; never throws for a failed check (it is a FAIL line). */
export async function preflightRecord(
  store: AsyncVaultStore,
  stored: StoredRecord,
  engineOpts: RotateOptions,
  actor: string,
): Promise<PreflightLine[]> {
  const out: PreflightLine[] = [];
  const n = normalize(engineOpts, actor);
  let prep: Prepared;
  try {
    prep = await prepare(store, stored, engineOpts, n);
  } catch (err) {
    out.push({
      status: "FAIL",
      area: "record",
      check: "settings",
      detail: msg(err),
      fix: hintOf(err, "fix the record's settings"),
    });
    return out;
  }
  if (!(await authenticates(prep, n, out))) return out;

  // The engine's dry run, its write calls refused, every port it opens kept to probe with afterwards.
  const ports: IamKeyPort[] = [];
  let admin: IamKeyPort | undefined;
  let listed: KeyMeta[] | undefined;
  let user: IamUser | "denied" | undefined;
  try {
    let planned: string | undefined;
    let dryRunError: unknown;
    try {
      const r = await rotateRecord(store, stored, {
        ...engineOpts,
        dryRun: true,
        actor,
        wrapPort: (port) => {
          ports.push(port);
          return {
            ...port,
            createKey: noWrite,
            deleteKey: noWrite,
            updateKey: noWrite,
            close: () => {},
            listKeys: async (userName) => {
              const keys = await port.listKeys(userName);
              admin = port;
              listed = keys;
              return keys;
            },
            getUser: async (userName) => {
              user = await port.getUser(userName);
              return user;
            },
          };
        },
      });
      planned = `strategy ${r.strategy}: room for the rotation (${r.steps.map((s) => `${s.step}${s.keyId ? ` ${s.keyId}` : ""}`).join(", ") || "create"})`;
      for (const w of r.warnings) out.push({ status: "warn", area: "aws", check: "note", detail: w });
    } catch (err) {
      dryRunError = err;
    }
    const userName = prep.settings.userName;
    if (!listed) {
      out.push({
        status: "FAIL",
        area: "aws",
        check: "iam:ListAccessKeys",
        detail: msg(dryRunError),
        fix: hintOf(dryRunError, "grant iam:ListAccessKeys on the user (`rekey policy` prints the policy)"),
      });
      return out;
    }
    const keyList = listed.map((k) => `${k.accessKeyId} (${k.status})`).join(", ") || "none";
    out.push({
      status: "ok",
      area: "aws",
      check: "iam:ListAccessKeys",
      detail: `IAM user "${userName}" has ${listed.length} key(s): ${keyList}`,
    });
    const sameUser = userCheck(stored, userName, user, dryRunError, out);
    if (sameUser && planned) out.push({ status: "ok", area: "aws", check: "key limit", detail: planned });
    else if (sameUser) {
      const kind = dryRunError instanceof RekeyError ? dryRunError.kind : "internal";
      out.push({
        status: "FAIL",
        area: "aws",
        check: kind === "conflict" ? "key limit" : "rotation plan",
        detail: msg(dryRunError),
        fix: hintOf(dryRunError, "see the message"),
      });
    }
    if (sameUser && admin) await probes(admin, prep, listed, out);
  } finally {
    for (const p of ports) p.close();
  }
  return out;
}

/** sts:GetCallerIdentity with the first source that opens and answers. */
async function authenticates(prep: Prepared, n: Normalized, out: PreflightLine[]): Promise<boolean> {
  const tried: string[] = [];
  for (const c of prep.sources.candidates) {
    if (!c.spec) {
      tried.push(`${c.label}: ${c.problem ?? "not usable"}`);
      continue;
    }
    try {
      const aws = { retry: n.retry, requestTimeoutMs: n.requestTimeoutMs, logger: n.logger };
      const opened = await openCredentials(c.spec, { endpoints: prep.endpoints, ...aws });
      const who = await callerIdentity(prep.endpoints, opened.credentials, { principal: c.label, ...aws });
      out.push({
        status: "ok",
        area: "aws",
        check: "admin credentials",
        detail: `${c.label}: ${opened.via} is ${who.arn || "?"} (sts:GetCallerIdentity)`,
      });
      return true;
    } catch (err) {
      tried.push(`${c.label}: ${msg(err)}`);
    }
  }
  out.push({
    status: "FAIL",
    area: "aws",
    check: "admin credentials",
    detail: `no source authenticates: ${tried.join("; ") || "none configured"}`,
    fix: "give the record rotation_credentials naming a record with aws_access_key_id/aws_secret_access_key, or set accessKeyId/accessSecretKey on the PAM configuration, or give the machine a role",
  });
  return false;
}

/** The user exists and is the one the record was rotated for (its pinned aws_user_id). False: stop here. */
function userCheck(
  stored: StoredRecord,
  userName: string,
  user: IamUser | "denied" | undefined,
  dryRunError: unknown,
  out: PreflightLine[],
): boolean {
  const pinned = readKeyState(stored.record).userId;
  if (user === undefined) {
    // The dry run stopped before iam:GetUser (a refusal of the record itself, e.g. a duplicate).
    out.push({
      status: "FAIL",
      area: "aws",
      check: "rotation plan",
      detail: msg(dryRunError),
      fix: hintOf(dryRunError, "see the message"),
    });
    return false;
  }
  if (user === "denied") {
    out.push({
      status: "warn",
      area: "aws",
      check: "iam:GetUser",
      detail: `denied on "${userName}": a deleted and re-created user cannot be detected`,
      fix: "grant iam:GetUser (`rekey policy` prints the policy)",
    });
    return true;
  }
  out.push({ status: "ok", area: "aws", check: "iam:GetUser", detail: `"${userName}" exists: ${user.arn}` });
  if (!pinned) {
    out.push({
      status: "ok",
      area: "aws",
      check: "user id",
      detail: `${user.userId}; the record pins none yet (its first rotation pins it)`,
    });
  } else if (pinned === user.userId) {
    out.push({ status: "ok", area: "aws", check: "user id", detail: `${user.userId}, as the record pins` });
  } else {
    out.push({
      status: "FAIL",
      area: "aws",
      check: "user id",
      detail: `IAM user "${userName}" now has UserId ${user.userId}, but the record was rotated for ${pinned}: the user was deleted and re-created`,
      fix: "make sure this is the user you mean, then rotate once with --force (the record's aws_user_id is updated)",
    });
    return false;
  }
  return true;
}

/** The actions IAM lets us test without a change, with the port the dry run listed the keys with. */
async function probes(
  port: IamKeyPort,
  prep: Prepared,
  keys: KeyMeta[],
  out: PreflightLine[],
): Promise<void> {
  const { userName, strategy, adopt } = prep.settings;
  const first = keys[0];
  if (!first) {
    out.push({
      status: "ok",
      area: "aws",
      check: "iam:GetAccessKeyLastUsed",
      detail: "not needed yet: the user has no key",
    });
  } else {
    try {
      const used = await port.lastUsed(userName, first.accessKeyId);
      if (used === "denied") {
        out.push({
          status: "warn",
          area: "aws",
          check: "iam:GetAccessKeyLastUsed",
          detail: `denied on ${first.accessKeyId}: rekey cannot tell whether an old key is still in use before it retires it`,
          fix: "grant iam:GetAccessKeyLastUsed (`rekey policy` prints the policy)",
        });
      } else {
        out.push({
          status: "ok",
          area: "aws",
          check: "iam:GetAccessKeyLastUsed",
          detail: `${first.accessKeyId}: ${used ? `last used ${used.date.toISOString()} (${used.service})` : "never used"}`,
        });
      }
    } catch (err) {
      out.push({
        status: "FAIL",
        area: "aws",
        check: "iam:GetAccessKeyLastUsed",
        detail: msg(err),
        fix: hintOf(err, "see the message"),
      });
    }
  }
  if (strategyIamActions(strategy, adopt).includes("iam:UpdateAccessKey")) {
    await probe(out, "iam:UpdateAccessKey", () => port.updateKey(userName, PROBE_KEY_ID, "Active"), {
      why: adopt
        ? `strategy ${strategy} with adopt_existing_keys deactivates old keys`
        : `strategy ${strategy} deactivates the old key`,
      fix: `grant iam:UpdateAccessKey (\`rekey policy --strategy ${strategy}\` prints the policy), or use rotation_strategy=create-then-delete`,
    });
  }
  await probe(out, "iam:DeleteAccessKey", () => port.deleteKey(userName, PROBE_KEY_ID), {
    why: "every strategy deletes old keys",
    fix: "grant iam:DeleteAccessKey on the user (`rekey policy` prints the policy)",
  });
  out.push({
    status: "warn",
    area: "aws",
    check: "iam:CreateAccessKey",
    detail: "not provable without creating a key",
    fix: "make sure the admin policy allows iam:CreateAccessKey on the user (`rekey policy` prints it); `rekey rotate --dry-run` does not prove it either",
  });
}

async function probe(
  out: PreflightLine[],
  action: string,
  call: () => Promise<string>,
  o: { why: string; fix: string },
): Promise<void> {
  try {
    const answer = await call();
    out.push({
      status: "ok",
      area: "aws",
      check: action,
      detail:
        answer === "absent"
          ? `allowed (${o.why}; probed on the key id ${PROBE_KEY_ID}, which cannot exist: IAM answered NoSuchEntity)`
          : `allowed (${o.why})`,
    });
  } catch (err) {
    out.push({
      status: "FAIL",
      area: "aws",
      check: action,
      detail: isDenied(err) ? `denied: ${msg(err)} (${o.why})` : msg(err),
      fix: isDenied(err) ? o.fix : hintOf(err, o.fix),
    });
  }
}
