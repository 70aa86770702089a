/**
 * The cryptography of the Keeper Secrets Manager wire protocol, server side (keeper-protocol.md §5), written
 * against what `@keeper-security/secrets-manager-core` 17.5.0 does in `src/node/nodePlatform.ts`:
 *
 * - AES-256-GCM blobs are `iv(12) | ciphertext | tag(16)`; the SDK's CBC blobs (folder data, sub-folder keys)
 *   are `iv(16) | ciphertext` with PKCS#7 padding.
 * - "Public encryption" (transmission key to the server, record key to the app owner) is ECIES on P-256:
 *   `ephemeralPublicKey(65) | AES-GCM(data)` under SHA-256 of the ECDH secret.
 * - Requests are signed with ECDSA P-256 / SHA-256 (DER) by the client's private key over
 *   `encryptedTransmissionKey | encryptedPayload`.
 * - The client id is base64(HMAC-SHA512(key = client key, "KEEPER_SECRETS_MANAGER_CLIENT_ID")).
 *
 * Binary fields travel as base64; the SDK decodes with Node's base64, which also takes the URL-safe alphabet,
 * so the fake sends URL-safe base64 without padding like the real server.
 */
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  verify,
} from "node:crypto";

const GCM_IV = 12;
const GCM_TAG = 16;
const CBC_IV = 16;
const P256_RAW_PUBLIC = 65;

export function gcmEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const iv = randomBytes(GCM_IV);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ct = Buffer.concat([cipher.update(data), cipher.final()]);
  return Buffer.concat([iv, ct, cipher.getAuthTag()]);
}

/** Throws (Node's "Unsupported state or unable to authenticate data") when the key or blob is wrong. */
export function gcmDecrypt(key: Uint8Array, blob: Uint8Array): Buffer {
  const b = Buffer.from(blob);
  if (b.length < GCM_IV + GCM_TAG) throw new Error("AES-GCM blob too short");
  const decipher = createDecipheriv("aes-256-gcm", key, b.subarray(0, GCM_IV));
  decipher.setAuthTag(b.subarray(b.length - GCM_TAG));
  return Buffer.concat([decipher.update(b.subarray(GCM_IV, b.length - GCM_TAG)), decipher.final()]);
}

export function cbcEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const iv = randomBytes(CBC_IV);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  return Buffer.concat([iv, cipher.update(data), cipher.final()]);
}

export function cbcDecrypt(key: Uint8Array, blob: Uint8Array): Buffer {
  const b = Buffer.from(blob);
  const decipher = createDecipheriv("aes-256-cbc", key, b.subarray(0, CBC_IV));
  return Buffer.concat([decipher.update(b.subarray(CBC_IV)), decipher.final()]);
}

/** A P-256 key pair in the forms the protocol uses. */
export interface P256KeyPair {
  /** PKCS#8 DER, as the SDK stores `privateKey` in its config (base64). */
  privateKeyDer: Buffer;
  /** The 32-byte private scalar (for ECDH). */
  privateRaw: Buffer;
  /** Uncompressed point, 65 bytes starting 0x04 (what the SDK sends as `publicKey`). */
  publicRaw: Buffer;
}

export function generateP256(): P256KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.d) throw new Error("EC private key without a scalar");
  return {
    privateKeyDer: privateKey.export({ format: "der", type: "pkcs8" }),
    privateRaw: Buffer.from(jwk.d, "base64url"),
    publicRaw: rawPublicKey(publicKey),
  };
}

export function rawPublicKey(key: KeyObject): Buffer {
  const spki = key.export({ format: "der", type: "spki" });
  return Buffer.from(spki.subarray(spki.length - P256_RAW_PUBLIC));
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  const b = Buffer.from(raw);
  if (b.length !== P256_RAW_PUBLIC || b[0] !== 4) throw new Error("not an uncompressed P-256 public key");
  return createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: b.subarray(1, 33).toString("base64url"),
      y: b.subarray(33).toString("base64url"),
    },
    format: "jwk",
  });
}

/** ECIES as the SDK's `publicEncrypt` does it (no extra id bytes). */
export function eciesEncrypt(recipientPublicRaw: Uint8Array, data: Uint8Array): Buffer {
  const ecdh = createECDH("prime256v1");
  const ephemeral = ecdh.generateKeys();
  const shared = ecdh.computeSecret(Buffer.from(recipientPublicRaw));
  return Buffer.concat([ephemeral, gcmEncrypt(createHash("sha256").update(shared).digest(), data)]);
}

export function eciesDecrypt(recipientPrivateRaw: Uint8Array, blob: Uint8Array): Buffer {
  const b = Buffer.from(blob);
  if (b.length < P256_RAW_PUBLIC + GCM_IV + GCM_TAG) throw new Error("ECIES blob too short");
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(recipientPrivateRaw));
  const shared = ecdh.computeSecret(b.subarray(0, P256_RAW_PUBLIC));
  return gcmDecrypt(createHash("sha256").update(shared).digest(), b.subarray(P256_RAW_PUBLIC));
}

/** Verify the SDK's request signature (ECDSA P-256, SHA-256, DER encoded). */
export function verifySignature(publicRaw: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify("sha256", data, { key: publicKeyFromRaw(publicRaw), dsaEncoding: "der" }, signature);
  } catch {
    return false;
  }
}

/** The client id the SDK derives from a one-time token's client key. */
export function clientIdOf(clientKey: Uint8Array): string {
  return createHmac("sha512", clientKey).update("KEEPER_SECRETS_MANAGER_CLIENT_ID").digest("base64");
}

/** URL-safe base64 without padding (the server's encoding of binary fields). */
export function b64url(data: Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/** Decode standard or URL-safe base64 (Node accepts both). */
export function fromB64(text: string): Buffer {
  return Buffer.from(text, "base64");
}

/** 16 random bytes as a record/folder UID: URL-safe base64, 22 characters, never starting with `-`. */
export function newWireUid(): string {
  for (;;) {
    const uid = randomBytes(16).toString("base64url");
    if (!uid.startsWith("-")) return uid;
  }
}
