/**
 * The application's edit right on each record, as Keeper states it.
 *
 * Keeper's `get_secret` answer carries `isEditable` for every record it returns (the Python SDK keeps it as
 * `Record.is_editable`), but the JS SDK's KeeperRecord drops it. `--check` needs it to prove, without
 * writing, that a rotation's save will be accepted. This wraps the SDK's query function: the answer goes to
 * the SDK unchanged, and a copy of a `get_secret` answer is decrypted with the request's transmission key
 * (AES-256-GCM: 12-byte IV, ciphertext, 16-byte tag) to read the flags. Nothing else is kept.
 */
import { createDecipheriv } from "node:crypto";
import { postFunction, type SecretManagerOptions } from "@keeper-security/secrets-manager-core";

export type QueryFunction = NonNullable<SecretManagerOptions["queryFunction"]>;

export class EditPermissionWatch {
  /** Record UID → isEditable from the latest get_secret answer that held the record. */
  readonly editable = new Map<string, boolean>();

  /** The query function to give the SDK (the real HTTP post when `inner` is undefined). */
  wrap(inner: QueryFunction | undefined): QueryFunction {
    const send: QueryFunction = inner ?? postFunction;
    return async (url, transmissionKey, payload, allowUnverified) => {
      const response = await send(url, transmissionKey, payload, allowUnverified);
      if (response.statusCode === 200 && url.endsWith("/get_secret") && response.data?.length) {
        this.#read(response.data, transmissionKey.key);
      }
      return response;
    };
  }

  #read(data: Uint8Array, key: Uint8Array): void {
    let answer: unknown;
    try {
      const iv = data.subarray(0, 12);
      const tag = data.subarray(data.length - 16);
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      answer = JSON.parse(plain.toString("utf8"));
    } catch {
      return; // the SDK reports an unreadable answer itself
    }
    for (const record of recordsOf(answer)) {
      const uid = record.recordUid;
      const flag = record.isEditable;
      if (typeof uid === "string" && typeof flag === "boolean") this.editable.set(uid, flag);
    }
  }
}

type WireRecord = { recordUid?: unknown; isEditable?: unknown };

function recordsOf(answer: unknown): WireRecord[] {
  if (!answer || typeof answer !== "object") return [];
  const a = answer as { records?: unknown; folders?: unknown };
  const out: WireRecord[] = [];
  const take = (list: unknown) => {
    if (Array.isArray(list)) for (const r of list) if (r && typeof r === "object") out.push(r as WireRecord);
  };
  take(a.records);
  if (Array.isArray(a.folders)) {
    for (const f of a.folders) if (f && typeof f === "object") take((f as { records?: unknown }).records);
  }
  return out;
}
