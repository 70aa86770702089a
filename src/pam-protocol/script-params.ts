/**
 * The Keeper Gateway's stdin line for a post-rotation script (keeper-protocol.md §1), as the gateway
 * builds it. The encoding and the record flattening are src/pam-protocol/gateway-params.ts's (one
 * implementation for both sides of the pipe); this adds what the gateway needs around it: the
 * documented key list and the values a script run must redact.
 */

import { Secret } from "../secret.js";
import { isSecretField, type KeeperRecord, type RecordField } from "../vault/record.js";
import { encodeGatewayParams, flattenRecord } from "./gateway-params.js";

export { flattenRecord };

/** The documented keys, in the documented order. */
export const GATEWAY_PARAM_KEYS = [
  "providerRecordUid",
  "resourceRecordUid",
  "userRecordUid",
  "newPassword",
  "oldPassword",
  "user",
  "records",
] as const;

export interface GatewayParamsInput {
  /** The PAM configuration record (for AWS: `pamAwsConfiguration`). */
  providerRecordUid: string;
  /** The PAM resource record; absent for IAM users (sent as ""). */
  resourceRecordUid?: string | null | undefined;
  userRecordUid: string;
  newPassword: string | Secret;
  oldPassword: string | Secret | null | undefined;
  /** The login (here: the IAM user name). */
  user: string;
  /**
   * The records the script may need, in the Gateway's order: the configuration, the resource if any,
   * the records attached to the script, then the user record. A `StoredRecord` fits.
   */
  records: ReadonlyArray<{ uid: string; record: KeeperRecord }>;
}

const reveal = (v: string | Secret | null | undefined) => (v instanceof Secret ? v.reveal() : (v ?? ""));

/**
 * The line written to a script's stdin (without the newline): base64 of the seven-key JSON object.
 * Holds secrets: goes to the script's stdin only, never to argv, logs or history.
 */
export function buildGatewayParams(input: GatewayParamsInput): string {
  return encodeGatewayParams({
    providerRecordUid: input.providerRecordUid,
    resourceRecordUid: input.resourceRecordUid ?? "",
    userRecordUid: input.userRecordUid,
    newPassword: input.newPassword,
    oldPassword: input.oldPassword ?? "",
    user: input.user,
    records: input.records.map((r) => ({ uid: r.uid, record: r.record })),
  });
}

/**
 * Every value a script run must not show: the passwords, the secret fields of the records, and the
 * encoded line itself and its `records` (a script echoing its stdin would otherwise leak them
 * in base64). Pass the result to `runScript({ secrets })`.
 */
export function secretsOfParams(input: GatewayParamsInput, line?: string): string[] {
  const out = new Set<string>();
  const add = (v: string | Secret | null | undefined) => {
    const s = reveal(v);
    if (s) out.add(s);
  };
  add(input.newPassword);
  add(input.oldPassword);
  for (const { record } of input.records) {
    for (const f of [...record.fields, ...record.custom]) if (isSecretField(f)) secretStrings(f).forEach(add);
  }
  if (line) {
    add(line);
    try {
      const decoded = JSON.parse(Buffer.from(line, "base64").toString("utf8")) as { records?: unknown };
      if (typeof decoded.records === "string") add(decoded.records);
    } catch {
      // Not our encoding: the line itself is still redacted.
    }
  }
  return [...out];
}

function secretStrings(f: RecordField): string[] {
  return f.value.flatMap((v) =>
    typeof v === "string"
      ? [v]
      : v && typeof v === "object"
        ? Object.values(v).filter((x): x is string => typeof x === "string")
        : [],
  );
}
