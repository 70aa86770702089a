/**
 * rekey as the Keeper Gateway's post-rotation ("PAM") script: what the seed's Python script does, through
 * rekey's rotation engine (keeper-protocol.md §1).
 *
 * 1. Parse the Gateway's stdin line (gateway-params.ts). Bad input fails here, before any Keeper or AWS call.
 * 2. Open the Keeper vault with the Gateway's KSM config (`--ksm-config`, KSM_CONFIG_FILE, GATEWAY_CONFIG, the
 *    Gateway's own files: ksm-config-path.ts) and read the PAM User record and the PAM configuration.
 * 3. Rotate with the engine: admin credentials from the records attached to the script (the seed's three
 *    shapes; never the PAM User record itself), else the PAM configuration's key (read through KSM, else its
 *    stdin copy), else the machine's own credentials (the AWS default chain). The record's
 *    delete_all_keys_before_rotating / rotation_strategy choose the mode; the configuration's regionNames
 *    the region. The new key is saved in the PAM User record before any old key is deleted; the journal,
 *    lock and audit log are local (local-state.ts).
 *
 * The save is, by default, what the seed's `secrets_manager.save` does: a plain KSM updateSecret (with
 * rekey's revision check), not a KSM rotation transaction: the Gateway may hold its own transaction on the
 * record while the script runs, and how Keeper treats a second one is not documented. `--transactional-save`
 * or the record field `rekey_save` = `transaction` turn the transaction (finalized before any old key is
 * touched) back on. Crash safety holds both ways: the journal says "created" until the save is confirmed, and
 * a rerun saves the journaled key again (idempotent) or settles a transaction an earlier run left open.
 *
 * Nothing here prints a secret: the output names key ids, the record UID and its revision.
 */
import { RekeyError } from "../errors.js";
import { flatToRecord, type GatewayParams, parseGatewayParams } from "../pam-protocol/gateway-params.js";
import {
  type RotateOptions,
  type RotationLogger,
  type RotationResult,
  rotateRecord,
  type SuppliedRecord,
} from "../rotation/index.js";
import { describeKsmConfigSource, locateKsmConfig } from "../stores/keeper/ksm-config.js";
import { type OpenKeeperVaultOptions, openKeeperVault } from "../stores/keeper/ksm-store.js";
import { getFieldValue } from "../vault/record.js";
import type { StoredRecord } from "../vault/store.js";
import { SCRIPT_ACTOR } from "./script-output.js";

export { formatScriptError, SCRIPT_ACTOR, STDIN_TIMEOUT_MS } from "./script-output.js";

export interface KeeperScriptOptions {
  /** `--ksm-config PATH` (else KSM_CONFIG_FILE, GATEWAY_CONFIG, the Gateway's files: locateKsmConfig). */
  ksmConfig?: string | undefined;
  env: NodeJS.ProcessEnv;
  logger?: RotationLogger | undefined;
  /** Tests: the fake Keeper in-process (the SDK's queryFunction). */
  queryFunction?: OpenKeeperVaultOptions["queryFunction"];
  /** `--transactional-save`: save inside a KSM rotation transaction (else the record's `rekey_save` field). */
  transactionalSave?: boolean | undefined;
  /** Tests: extra engine options (fast retries, crash hooks). */
  engine?: Partial<RotateOptions> | undefined;
}

export interface KeeperScriptResult {
  rotation: RotationResult;
  configPath: string;
  params: GatewayParams;
}

/**
 * Run the post-rotation script on the Gateway's line. Throws a RekeyError (its kind gives the exit code) on any
 * failure; bad input throws a usage error before Keeper or AWS is contacted.
 *
 * @example
 * const { rotation } = await runKeeperScript(line, { env: process.env });
 * process.stdout.write(renderKeeperScript(rotation));
 */
export async function runKeeperScript(line: string, opts: KeeperScriptOptions): Promise<KeeperScriptResult> {
  const params = parseGatewayParams(line);
  const config = locateKsmConfig({ flag: opts.ksmConfig, env: opts.env });
  const configPath = describeKsmConfigSource(config);
  const vault = await openKeeperVault({
    configPath: config,
    env: opts.env,
    ...(opts.queryFunction ? { queryFunction: opts.queryFunction } : {}),
  });
  try {
    const wanted = [params.userRecordUid, ...(params.providerRecordUid ? [params.providerRecordUid] : [])];
    const found = await vault.getRecords(wanted);
    const user = found.find((r) => r.uid === params.userRecordUid);
    if (!user) {
      throw new RekeyError(
        "not-found",
        `the PAM User record ${params.userRecordUid} (userRecordUid) is not shared with the KSM application of ${vault.description}`,
        { hint: "share the record's shared folder with the Gateway's application, with edit rights" },
      );
    }
    vault.transactionalSaves = wantsTransactionalSave(user, opts.transactionalSave);
    const rotation = await rotateRecord(vault, user, {
      ...(opts.engine ?? {}),
      userName: params.user,
      credentialRecords: attachedRecords(params),
      pamConfiguration: pamConfiguration(params, found),
      ...(params.newPassword ? { newPassword: params.newPassword } : {}),
      env: opts.env,
      actor: SCRIPT_ACTOR,
      // Keeper's Gateway chose this record; listing every record the application sees would cost a KSM
      // request per rotation (rekey gateway and rekey rotate check for a second record of the same user).
      peers: [],
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    return { rotation, configPath, params };
  } finally {
    await vault.close();
  }
}

/** The record field that selects the save: `rekey_save` = `transaction` (else a plain update). */
export const SAVE_FIELD = "rekey_save";

/** The transactional save: asked by the flag, or by the record's `rekey_save` = `transaction`. */
export function wantsTransactionalSave(user: StoredRecord, flag: boolean | undefined): boolean {
  if (flag) return true;
  const v = (getFieldValue(user.record, SAVE_FIELD) ?? "").trim().toLowerCase();
  return v === "transaction" || v === "transactional";
}

/**
 * The records attached to the script, in the Gateway's order, as admin credential candidates. The PAM User
 * record (its own key) and the PAM configuration (tried after them, read through KSM) are left out.
 */
export function attachedRecords(params: GatewayParams): SuppliedRecord[] {
  return params.records
    .filter((r) => r.uid !== params.userRecordUid && r.uid !== params.providerRecordUid)
    .map((r) => ({ uid: r.uid, record: flatToRecord(r) }));
}

/** The PAM configuration: as KSM returns it, else the Gateway's flattened copy, else none. */
export function pamConfiguration(params: GatewayParams, found: StoredRecord[]): SuppliedRecord | null {
  const uid = params.providerRecordUid;
  if (!uid) return null;
  const viaKsm = found.find((r) => r.uid === uid);
  if (viaKsm) return { uid, record: viaKsm.record };
  const flat = params.record(uid);
  return flat ? { uid, record: flatToRecord(flat) } : null;
}

/** What the script prints: the seed's result lines plus the record UID and revision. Never a secret. */
export function renderKeeperScript(r: RotationResult): string {
  const lines: string[] = [];
  lines.push(`rekey: rotated the access key of IAM user "${r.userName}" (strategy ${r.strategy})`);
  lines.push(`Admin credentials: ${r.credentialSource.description}`);
  if (r.resumed) {
    const orphans = r.resumed.orphansDeleted.length
      ? `; orphan keys deleted: ${r.resumed.orphansDeleted.join(", ")}`
      : "";
    lines.push(`Resumed an interrupted rotation: ${r.resumed.outcome}${orphans}`);
  }
  if (r.created) {
    lines.push(`New Access Key ID: ${r.created.accessKeyId}`);
    lines.push(`Create Date: ${r.created.createDate}`);
  }
  if (r.verified) lines.push(`Verified: ${r.verified.arn} after ${r.verified.attempts} attempt(s)`);
  lines.push(`Deleted Access Keys: ${r.deleted.join(", ") || "none"}`);
  if (r.deactivated.length) lines.push(`Deactivated Access Keys: ${r.deactivated.join(", ")}`);
  lines.push(
    `Keeper record: ${r.recordUid} ("${r.recordTitle}")${r.revision !== undefined ? `, revision ${r.revision}` : ""}`,
  );
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return `${lines.join("\n")}\n`;
}
