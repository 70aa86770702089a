/**
 * What the gateway reads from a PAM User record and its neighbours: its PAM configuration (for the
 * default schedule, the scripts' `providerRecordUid` and the AWS account), its account key for the
 * limiter, its rotation mode, and its history. Reads only.
 */

import { parseRotationMode, ROTATION_MODE_FIELD, type RotationMode } from "../rotation/field-checks.js";
import { FIELD } from "../rotation/index.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { getFieldValue, type KeeperRecord } from "../vault/record.js";
import type { RotationAttempt } from "./history-model.js";

/** How much of a record's history the scheduler reads: far more than one slot's tries. */
export const HISTORY_WINDOW = 50;

/**
 * True when the record asks for scripts only: `rotation_mode` = `scripts-only`. The seed's `NOOP` = True
 * does NOT mean that: it tells Keeper's Gateway not to rotate the PAM user's *password*, while the access
 * key is still rotated (by the seed's post-rotation script, which rekey's gateway replaces). An invalid
 * `rotation_mode` reads as "rotate" here; the runner refuses it before doing anything (see
 * `rotationModeOf`).
 */
export function isScriptsOnly(record: KeeperRecord): boolean {
  try {
    return rotationModeOf(record) === "scripts-only";
  } catch {
    return false;
  }
}

/** The record's rotation mode; throws a usage error naming the record for an unknown value. */
export function rotationModeOf(record: KeeperRecord): RotationMode {
  return parseRotationMode(
    getFieldValue(record, ROTATION_MODE_FIELD),
    `record "${record.title}", field ${ROTATION_MODE_FIELD}`,
  );
}

/** The IAM user name (the record's `login`), "" when missing. */
export function loginOf(record: KeeperRecord): string {
  return (getFieldValue(record, FIELD.login) ?? "").trim();
}

export { accountKey, configurationFor } from "../rotation/same-user.js";

let historySchema: Promise<typeof import("./history-schema.js")> | undefined;

/**
 * The history entry schema (zod), loaded on first use only: a plain `rekey rotate` never reads history.
 * Kept once loaded, so later reads do not go through `import()` again (under a loader with module hooks,
 * such as the tests' tsx, each `import()` is a round trip to the hooks' thread, not a microtask).
 */
export function loadHistorySchema(): Promise<typeof import("./history-schema.js")> {
  historySchema ??= import("./history-schema.js");
  return historySchema;
}

/**
 * The record's recent history, validated (an entry written by a newer rekey that does not parse is
 * left out rather than stopping the gateway).
 */
export async function readHistory(
  store: AsyncVaultStore,
  recordUid: string,
  limit = HISTORY_WINDOW,
): Promise<RotationAttempt[]> {
  const out: RotationAttempt[] = [];
  const { parseAttempt } = await loadHistorySchema();
  for (const e of await store.listRotationHistory({ recordUid, limit })) {
    try {
      out.push(parseAttempt(e));
    } catch {
      // skipped: unreadable entries cannot be reasoned about
    }
  }
  return out;
}
