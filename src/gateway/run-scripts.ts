/**
 * Run the post-rotation scripts of one record the way the Keeper Gateway does (keeper-protocol.md §1):
 * the user record's scripts, then the configuration's; each gets one base64 line on stdin with the
 * seven documented keys, `records` holding the configuration, the script's attached records and the
 * user record (flattened). A failing script is reported in its result; nothing here undoes anything.
 *
 * Where a script comes from: `fileRef` names a file attachment of the record holding the `rotationScripts`
 * field (the user record or the configuration), as in Keeper; on a store with attachments (a Keeper vault)
 * that is looked up first. Otherwise, and on rekey's local vault, which has no attachments, `fileRef` is the
 * UID of a `file` record (script-file.ts).
 *
 * Secrets: the line goes to the script's stdin only; every secret value of the records and passwords is
 * redacted from what the script prints before the result is kept (script-runner.ts).
 */

import {
  buildGatewayParams,
  type GatewayParamsInput,
  secretsOfParams,
} from "../pam-protocol/script-params.js";
import type { AsyncVaultStore, Attachment } from "../vault/async-store.js";
import type { StoredRecord } from "../vault/store.js";
import type { ScriptResult } from "./history-model.js";
import { MAX_SCRIPT_BYTES, readScriptFile } from "./script-file.js";
import type { RunScriptOptions, ScriptRunResult } from "./script-runner.js";
import { scriptsInRunOrder } from "./scripts.js";

export interface RunScriptsInput {
  store: AsyncVaultStore;
  /** The user record as it is now (after the rotation). */
  user: StoredRecord;
  configuration: StoredRecord | undefined;
  /** The IAM user name. */
  login: string;
  newPassword: string;
  oldPassword: string;
  timeoutMs: number;
  /** Where PATH, HOME and LANG come from (default process.env). */
  baseEnv?: Record<string, string | undefined> | undefined;
  /** Test seam. */
  run?: (opts: RunScriptOptions) => Promise<ScriptRunResult>;
}

/** How many scripts a record would run (user's and configuration's). */
export function countScripts(user: StoredRecord, configuration: StoredRecord | undefined): number {
  return scriptsInRunOrder(owners(user, configuration)).length;
}

/** Kept once loaded: see loadHistorySchema in records.ts for why a second `import()` is avoided. */
let scriptRunner: Promise<typeof import("./script-runner.js")> | undefined;
const loadScriptRunner = () => {
  scriptRunner ??= import("./script-runner.js");
  return scriptRunner;
};

export async function runRecordScripts(input: RunScriptsInput): Promise<ScriptResult[]> {
  const scripts = scriptsInRunOrder(owners(input.user, input.configuration));
  if (scripts.length === 0) return [];
  // script-runner.ts (and node:child_process, ~2.5 ms of a cold start) only for a record that has scripts.
  const run = input.run ?? (await loadScriptRunner()).runScript;
  const results: ScriptResult[] = [];
  for (const { ownerUid, position, script } of scripts) {
    const base = {
      name: `${ownerUid}#${position}`,
      fileRef: script.fileRef,
      ownerUid,
      command: script.command,
    };
    const failed = (why: string): ScriptResult => ({
      ...base,
      exitCode: null,
      success: false,
      timedOut: false,
      stdout: "",
      stderr: why,
    });
    const loaded = await loadScript(input.store, ownerUid, script.fileRef);
    if (typeof loaded === "string") {
      results.push(failed(loaded));
      continue;
    }
    const { content, fileName } = loaded;
    const params: GatewayParamsInput = {
      providerRecordUid: input.configuration?.uid ?? "",
      resourceRecordUid: "",
      userRecordUid: input.user.uid,
      newPassword: input.newPassword,
      oldPassword: input.oldPassword,
      user: input.login,
      records: await recordsFor(input, script.recordRef),
    };
    const line = buildGatewayParams(params);
    try {
      const r = await run({
        command: script.command,
        content,
        fileName,
        stdinLine: line,
        timeoutMs: input.timeoutMs,
        secrets: secretsOfParams(params, line),
        baseEnv: input.baseEnv,
      });
      results.push({
        ...base,
        name: `${fileName} (${ownerUid}#${position})`,
        exitCode: r.exitCode,
        success: r.success,
        timedOut: r.timedOut,
        stdout: r.stdout,
        stderr: r.error ? `${r.stderr}${r.stderr ? "\n" : ""}${r.error}` : r.stderr,
        durationMs: r.durationMs,
      });
    } catch (err) {
      // e.g. a secret in the command line: refused before anything ran.
      results.push(failed((err as Error).message));
    }
  }
  return results;
}

/**
 * The script's content and file name, or why it cannot run (a message naming the fileRef).
 *
 * Integrity: a `file` record carries rekey's SHA-256 of the content, checked by readScriptFile. A Keeper
 * attachment has none; what guarantees it is the encryption: the SDK decrypts the downloaded bytes with
 * AES-256-GCM under the file key, which only the record key unwraps, so altered bytes fail to decrypt and
 * the script is reported failed, not run.
 */
async function loadScript(
  store: AsyncVaultStore,
  ownerUid: string,
  fileRef: string,
): Promise<{ content: Buffer; fileName: string } | string> {
  if (store.readAttachment) {
    let attached: Attachment | undefined;
    try {
      attached = await store.readAttachment(ownerUid, fileRef);
    } catch (err) {
      return `script file ${fileRef} (attached to record ${ownerUid}) could not be read: ${(err as Error).message}`;
    }
    if (attached) {
      if (attached.content.length === 0) return `script file ${fileRef} (${attached.name}) is empty`;
      if (attached.content.length > MAX_SCRIPT_BYTES) {
        return `script file ${fileRef} (${attached.name}) is ${attached.content.length} bytes; the limit is ${MAX_SCRIPT_BYTES}`;
      }
      return { content: attached.content, fileName: attached.name };
    }
  }
  const file = await store.getRecord(fileRef);
  if (!file) {
    return store.readAttachment
      ? `script file ${fileRef} is neither a file attached to record ${ownerUid} nor a record in the vault (attach it again)`
      : `script file ${fileRef} is not in the vault (attach it again)`;
  }
  try {
    return readScriptFile(file.record, file.uid);
  } catch (err) {
    return (err as Error).message;
  }
}

/** One line for messages: which scripts failed and how. */
export function describeScriptFailures(results: readonly ScriptResult[]): string | undefined {
  const bad = results.filter((r) => !r.success);
  if (bad.length === 0) return undefined;
  const what = bad.map((r) =>
    r.timedOut
      ? `${r.name} timed out`
      : r.exitCode === null
        ? `${r.name} did not run`
        : `${r.name} exited ${r.exitCode}`,
  );
  return `${bad.length} of ${results.length} post-rotation script(s) failed: ${what.join(", ")}`;
}

function owners(user: StoredRecord, configuration: StoredRecord | undefined) {
  return {
    user: { uid: user.uid, record: user.record },
    configuration: configuration ? { uid: configuration.uid, record: configuration.record } : undefined,
  };
}

/** The Gateway's order: the configuration, the script's attached records, then the user record. */
async function recordsFor(
  input: RunScriptsInput,
  recordRef: readonly string[],
): Promise<GatewayParamsInput["records"]> {
  const out: Array<{ uid: string; record: StoredRecord["record"] }> = [];
  const seen = new Set<string>();
  const add = (s: StoredRecord | undefined) => {
    if (!s || seen.has(s.uid)) return;
    seen.add(s.uid);
    out.push({ uid: s.uid, record: s.record });
  };
  add(input.configuration);
  for (const uid of recordRef) if (uid !== input.user.uid) add(await input.store.getRecord(uid));
  add(input.user);
  return out;
}
