/**
 * `--check` of the Keeper drop-in (`rekey keeper-script --check`, `node rekey-aws-access-key.cjs --check`):
 * proves what a rotation needs, before the first one, and changes nothing (no Keeper save, no AWS write).
 *
 * Input: the Gateway's stdin line, or `--record UID` (then the credentials come from the record's
 * rotation_credentials / pam_configuration fields, or the vault's only pamAwsConfiguration, as the engine
 * finds them). One line per check: `ok   area: what`, `warn area: what`, `FAIL area: what — fix: how`.
 * Exit code: 0 when no check failed (warnings allowed), 1 when any failed. Never a secret: key ids, UIDs,
 * ARNs only.
 *
 * Keeper write permission is read, without writing, from the `isEditable` flag of Keeper's get_secret
 * answer (edit-permission.ts: the JS SDK drops it from KeeperRecord); only an answer without the flag
 * leaves it "not proven" (warn).
 */
import { RekeyError } from "../errors.js";
import { type GatewayParams, parseGatewayParams } from "../pam-protocol/gateway-params.js";
import { preflightRecord } from "../rotation/preflight.js";
import type { RotateOptions, SuppliedRecord } from "../rotation/types.js";
import { EditPermissionWatch } from "../stores/keeper/edit-permission.js";
import {
  describeKsmConfigSource,
  type KsmConfigSource,
  loadKsmConfig,
  locateKsmConfig,
} from "../stores/keeper/ksm-config.js";
import { type KeeperVault, openKeeperVault } from "../stores/keeper/ksm-store.js";
import type { StoredRecord } from "../vault/store.js";
import { attachedRecords, type KeeperScriptOptions, pamConfiguration } from "./script.js";
import { SCRIPT_ACTOR } from "./script-output.js";

export interface CheckLine {
  status: "ok" | "warn" | "FAIL";
  area: "keeper" | "aws";
  check: string;
  detail: string;
  fix?: string | undefined;
}

export type CheckInput = { line: string } | { recordUid: string };

const msg = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n").join("; ");
const hint = (err: unknown, dflt: string) => (err instanceof RekeyError && err.hint ? err.hint : dflt);

/** Run every check; never throws for a failed check (it is a FAIL line). Bad stdin input throws (exit 2). */
export async function checkKeeperScript(input: CheckInput, opts: KeeperScriptOptions): Promise<CheckLine[]> {
  const params: GatewayParams | undefined = "line" in input ? parseGatewayParams(input.line) : undefined;
  const out: CheckLine[] = [];
  const ok = (area: CheckLine["area"], check: string, detail: string) =>
    out.push({ status: "ok", area, check, detail });
  const fail = (area: CheckLine["area"], check: string, detail: string, fix: string) =>
    out.push({ status: "FAIL", area, check, detail, fix });

  let configPath: KsmConfigSource;
  try {
    // The drop-in's own lookup: --ksm-config, KSM_CONFIG_FILE, GATEWAY_CONFIG, the Gateway's files.
    configPath = locateKsmConfig({ flag: opts.ksmConfig, env: opts.env });
    const loaded = loadKsmConfig(configPath);
    ok("keeper", "config", `${describeKsmConfigSource(configPath)} (host ${loaded.config.hostname ?? "?"})`);
  } catch (err) {
    fail(
      "keeper",
      "config",
      msg(err),
      hint(err, "point --ksm-config (or KSM_CONFIG_FILE) at the Gateway's KSM config"),
    );
    return out;
  }

  let vault: KeeperVault;
  const permissions = new EditPermissionWatch();
  try {
    vault = await openKeeperVault({
      configPath,
      env: opts.env,
      editPermissions: permissions,
      ...(opts.queryFunction ? { queryFunction: opts.queryFunction } : {}),
    });
  } catch (err) {
    fail("keeper", "local state", msg(err), hint(err, "make REKEY_KEEPER_STATE (or REKEY_HOME) writable"));
    return out;
  }
  try {
    const userUid = params?.userRecordUid ?? ("recordUid" in input ? input.recordUid : "");
    const wanted = [userUid, ...(params?.providerRecordUid ? [params.providerRecordUid] : [])];
    let found: StoredRecord[];
    try {
      found = await vault.getRecords(wanted);
      ok("keeper", "answers", vault.description);
    } catch (err) {
      fail("keeper", "answers", msg(err), hint(err, "check the network path to Keeper and the KSM config"));
      return out;
    }
    const user = found.find((r) => r.uid === userUid);
    if (!user) {
      fail(
        "keeper",
        "user record readable",
        `record ${userUid} is not shared with the KSM application`,
        "share the PAM User record's shared folder with the Gateway's application, with edit rights",
      );
      return out;
    }
    ok("keeper", "user record readable", `${user.uid} ("${user.record.title}"), revision ${user.revision}`);
    const editable = permissions.editable.get(user.uid);
    if (editable === true) ok("keeper", "user record editable", "Keeper says the application may edit it");
    else if (editable === false) {
      fail(
        "keeper",
        "user record editable",
        `record ${user.uid} is read-only for the KSM application: the new key could not be saved`,
        'give the application "Can Edit" on the record\'s shared folder (Secrets Manager > Applications > Edit)',
      );
    } else {
      out.push({
        status: "warn",
        area: "keeper",
        check: "user record editable",
        detail: "not proven: Keeper's answer did not state the record's edit right (isEditable)",
        fix: "make sure the application's share of the record's shared folder has \"Can Edit\"",
      });
    }

    let credentialRecords: SuppliedRecord[] | undefined;
    let pamConfig: SuppliedRecord | null | undefined;
    if (params) {
      credentialRecords = attachedRecords(params);
      pamConfig = pamConfiguration(params, found);
      const cfgUid = params.providerRecordUid;
      if (cfgUid) {
        const viaKsm = found.some((r) => r.uid === cfgUid);
        ok(
          "keeper",
          "PAM configuration readable",
          viaKsm ? `${cfgUid} through KSM` : `${cfgUid}: the Gateway's copy (KSM does not return it)`,
        );
      }
      ok("keeper", "attached records", `${credentialRecords.length} from the Gateway`);
    }

    const engineOpts: RotateOptions = {
      ...(opts.engine ?? {}),
      ...(params ? { userName: params.user } : {}),
      ...(credentialRecords ? { credentialRecords } : {}),
      ...(pamConfig !== undefined ? { pamConfiguration: pamConfig } : {}),
      env: opts.env,
      actor: SCRIPT_ACTOR,
      peers: [],
    };
    await awsChecks(vault, user, engineOpts, out);
  } finally {
    await vault.close();
  }
  return out;
}

/**
 * The AWS checks: the same preflight as `rekey doctor` (rotation/preflight.ts): the admin credentials
 * authenticate, the engine's dry run (ListAccessKeys, the user and its pinned UserId, the 2-key limit), and
 * the IAM actions provable without a change. The record's own problems are reported as Keeper's.
 */
async function awsChecks(
  vault: KeeperVault,
  user: StoredRecord,
  engineOpts: RotateOptions,
  out: CheckLine[],
): Promise<void> {
  for (const l of await preflightRecord(vault, user, engineOpts, SCRIPT_ACTOR)) {
    out.push({ ...l, area: l.area === "aws" ? "aws" : "keeper" });
  }
}

/** `ok   keeper: config …` / `FAIL aws: … — fix: …`, one line each. */
export function renderChecks(lines: CheckLine[]): string {
  return `${lines
    .map((l) => {
      const tag = l.status === "ok" ? "ok  " : l.status;
      return `${tag} ${l.area}: ${l.check}: ${l.detail}${l.status !== "ok" && l.fix ? ` — fix: ${l.fix}` : ""}`;
    })
    .join("\n")}\n`;
}

/** 0 when no check failed, else 1. */
export function checkExitCode(lines: CheckLine[]): number {
  return lines.some((l) => l.status === "FAIL") ? 1 : 0;
}
