/**
 * The vault's cryptographic primitives: AES-256-GCM sealing, key wrapping, HKDF sub-keys, HMAC.
 *
 * Invariants:
 * - Every sealed blob is `version(1) | iv(12) | ciphertext | tag(16)` with a fresh random IV, so one key may
 *   seal many blobs (we stay far below the 2^32 messages per key where random 96-bit IVs get risky).
 * - The AAD names what the blob is and where it belongs (record uid + revision, folder uid, ...): a blob copied
 *   to another row fails to open. Callers build AADs with `aad()` so the encoding is unambiguous.
 * - `open` never returns unauthenticated plaintext: a wrong key and a flipped bit look the same, an
 *   integrity error naming the object.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { integrityError } from "../errors.js";

export const KEY_BYTES = 32;
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

/** A fresh random 256-bit key. */
export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** Overwrite key material we no longer need (best effort: JS may hold copies we cannot reach). */
export function zeroize(...bufs: Array<Buffer | undefined>): void {
  for (const b of bufs) b?.fill(0);
}

/** An unambiguous AAD from parts (JSON array: no separator can be smuggled inside a part). */
export function aad(...parts: Array<string | number | boolean | null>): string {
  return JSON.stringify(parts);
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key`);
}

/** Encrypt and authenticate `plaintext`, bound to `aadText`. */
export function seal(key: Buffer, plaintext: Buffer, aadText: string): Buffer {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aadText, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, ct, cipher.getAuthTag()]);
}

/**
 * Decrypt a blob made by `seal` with the same key and AAD. Any mismatch (wrong key, other AAD, a changed
 * byte, a truncated blob) throws an integrity error naming `what`, e.g. "record Abc… revision 3".
 */
export function open(key: Buffer, sealed: Buffer | Uint8Array, aadText: string, what: string): Buffer {
  checkKey(key);
  const blob = Buffer.isBuffer(sealed) ? sealed : Buffer.from(sealed);
  if (blob.length < OVERHEAD || blob[0] !== VERSION) throw tampered(what);
  const iv = blob.subarray(1, 1 + IV_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const ct = blob.subarray(1 + IV_BYTES, blob.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aadText, "utf8"));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch (cause) {
    throw tampered(what, cause);
  }
}

function tampered(what: string, cause?: unknown) {
  return integrityError(
    `${what} failed its integrity check: the vault data was modified outside rekey or is corrupted`,
    "restore the vault file from a backup, and run `rekey audit verify` to see what else changed",
    cause,
  );
}

/** Wrap a data key under a key-encryption key (AES-256-GCM, bound to `aadText`). */
export function wrapKey(kek: Buffer, dataKey: Buffer, aadText: string): Buffer {
  checkKey(dataKey);
  return seal(kek, dataKey, aadText);
}

/** Unwrap a data key; throws an integrity error naming `what` if it was not wrapped by `kek` with this AAD. */
export function unwrapKey(kek: Buffer, wrapped: Buffer | Uint8Array, aadText: string, what: string): Buffer {
  const key = open(kek, wrapped, aadText, what);
  if (key.length !== KEY_BYTES) {
    zeroize(key);
    throw integrityError(`${what} holds a key of the wrong size`, "restore the vault file from a backup");
  }
  return key;
}

/** A purpose-bound sub-key of `ikm` (HKDF-SHA256), so one master key never serves two purposes. */
export function deriveKey(ikm: Buffer, info: string, salt: Buffer | string = ""): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, KEY_BYTES));
}

export function hmac(key: Buffer, ...parts: Array<Buffer | string>): Buffer {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time equality of two byte strings (false for different lengths). */
export function sameBytes(a: Buffer | Uint8Array, b: Buffer | Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
