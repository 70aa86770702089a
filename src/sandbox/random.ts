/**
 * Randomness for the sandbox. Identifiers and fault draws come from a PRNG that a `randomSeed`
 * makes reproducible; secrets (secret access keys, session tokens, generated root credentials)
 * always come from node:crypto, because a predictable secret is a secret in every log that printed
 * the seed.
 */
import { randomBytes, randomInt } from "node:crypto";

/** A uniform draw in [0, 1). */
export type Rng = () => number;

/** sfc32 seeded through splitmix32: small, fast, and good enough for ids and fault draws. */
export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** An unseeded PRNG (seeded from node:crypto): ids differ from run to run. */
export function freshRng(): Rng {
  return seededRng(randomInt(0, 2 ** 32 - 1));
}

/** The characters of AWS unique ids (base32). */
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function randomFrom(rng: Rng, alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(rng() * alphabet.length)];
  return out;
}

/** A 40-character secret access key, drawn from node:crypto. */
export function newSecretAccessKey(): string {
  const bytes = randomBytes(40);
  let out = "";
  for (const b of bytes) out += SECRET_ALPHABET[b & 63];
  return out;
}

/** An opaque session token (base64 of random bytes), drawn from node:crypto. */
export function newSessionToken(): string {
  return `IQoJb3JpZ2luX2VjE${randomBytes(264).toString("base64")}`;
}

/** A token for the admin endpoint, drawn from node:crypto. */
export function newAdminToken(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Makes the identifiers AWS makes: AKIA/ASIA access key ids (20 chars), AIDA/AROA/ANPA unique ids
 * (21 chars), request ids (UUID shape). Two streams so that fault draws do not shift the ids.
 */
export class IdFactory {
  #rng: Rng;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  reseed(rng: Rng): void {
    this.#rng = rng;
  }

  accessKeyId(): string {
    return `AKIA${randomFrom(this.#rng, ID_ALPHABET, 16)}`;
  }

  sessionAccessKeyId(): string {
    return `ASIA${randomFrom(this.#rng, ID_ALPHABET, 16)}`;
  }

  userId(): string {
    return `AIDA${randomFrom(this.#rng, ID_ALPHABET, 17)}`;
  }

  roleId(): string {
    return `AROA${randomFrom(this.#rng, ID_ALPHABET, 17)}`;
  }

  policyId(): string {
    return `ANPA${randomFrom(this.#rng, ID_ALPHABET, 17)}`;
  }

  /** A 12-digit account id (never starting with 0). */
  accountId(): string {
    return `${1 + Math.floor(this.#rng() * 9)}${randomFrom(this.#rng, "0123456789", 11)}`;
  }

  requestId(): string {
    const hex = () => (Math.floor(this.#rng() * 4294967296) >>> 0).toString(16).padStart(8, "0");
    const h = hex() + hex() + hex() + hex();
    const variant = "89ab"[Number.parseInt(h[16]!, 16) & 3];
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20)}`;
  }
}
