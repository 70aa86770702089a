/**
 * How the vault key is obtained.
 *
 * At init a random 32-byte vault master key (VMK) is generated. It is stored only wrapped (AES-256-GCM) in
 * "key slots" kept in the vault's meta table:
 * - a passphrase slot: KEK = scrypt(passphrase, random salt, N/r/p), the parameters stored in the slot;
 * - a key-file slot: KEK = HKDF(32 random bytes from a 0600 key file, random salt). No slow KDF, so a process
 *   started once per rotation opens the vault in milliseconds; the file's permissions are its protection.
 * A wrong passphrase or key file shows up as a GCM failure unwrapping the VMK. The slot AAD binds the vault id
 * and the slot's parameters, so a slot cannot be weakened (e.g. a smaller N) without failing to open.
 */

import { randomBytes, scrypt } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { conflict, notFound, RekeyError, usageError } from "../errors.js";
import { Secret } from "../secret.js";
import { aad, deriveKey, KEY_BYTES, randomKey, unwrapKey, wrapKey, zeroize } from "./crypto.js";

import { promptHidden } from "./prompt.js";

export { promptHidden };

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt recommendation (128 MiB, a few hundred ms): what every real vault gets. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 17, r: 8, p: 1 };

export interface PassphraseSlot {
  kind: "passphrase";
  kdf: { name: "scrypt"; N: number; r: number; p: number; salt: string };
  /** The VMK wrapped under the passphrase KEK (base64). */
  wrapped: string;
}

export interface KeyFileSlot {
  kind: "key-file";
  salt: string;
  wrapped: string;
}

export type KeySlot = PassphraseSlot | KeyFileSlot;

/** What unlocks a vault: a key file (preferred: fast) or a passphrase. */
export interface UnlockSource {
  passphrase?: Secret;
  keyFile?: string;
}

export interface ResolveUnlockOptions {
  /** True when we may prompt on the terminal. */
  interactive: boolean;
  /** Ask for the passphrase (default: a hidden prompt on the terminal). */
  promptPassphrase?: () => Promise<Secret>;
  /** The vault's path, for messages. */
  vaultPath?: string;
}

/**
 * Where the passphrase or key file comes from: `REKEY_KEY_FILE` first, then `REKEY_PASSPHRASE`, else a hidden
 * prompt on the terminal, else an auth error (a non-interactive process must never hang on a prompt).
 *
 * @example
 * const source = await resolveUnlockSource(process.env, { interactive: Boolean(process.stdin.isTTY) });
 */
export async function resolveUnlockSource(
  env: NodeJS.ProcessEnv = process.env,
  opts: ResolveUnlockOptions = { interactive: false },
): Promise<UnlockSource> {
  if (env.REKEY_KEY_FILE) return { keyFile: resolve(env.REKEY_KEY_FILE) };
  if (env.REKEY_PASSPHRASE) return { passphrase: new Secret(env.REKEY_PASSPHRASE) };
  if (opts.interactive) {
    const ask =
      opts.promptPassphrase ?? (() => promptHidden(`Passphrase for ${opts.vaultPath ?? "the vault"}: `));
    const passphrase = await ask();
    if (passphrase.length === 0) throw usageError("no passphrase given", "type the vault's passphrase");
    return { passphrase };
  }
  throw new RekeyError(
    "auth",
    `the vault${opts.vaultPath ? ` ${opts.vaultPath}` : ""} is locked: no passphrase and no TTY`,
    { hint: "set REKEY_PASSPHRASE or REKEY_KEY_FILE" },
  );
}

// ---- key files ----------------------------------------------------------------------------------------

const KEY_FILE_RE = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Read a key file: a regular file of mode 0600 (or stricter) holding 32 random bytes in base64.
 * A file others can read is refused: it would make the vault readable by them.
 */
export function readKeyFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw notFound(
        `key file ${path} does not exist`,
        "check REKEY_KEY_FILE (it names the file made by `rekey init --key-file PATH`), or unset it to use the passphrase",
      );
    }
    throw new RekeyError("auth", `cannot read key file ${path}: ${code ?? String(cause)}`, {
      hint: `check that the file belongs to you and is readable: chmod 600 ${path}`,
      cause,
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw usageError(`key file ${path} is not a regular file`, "point REKEY_KEY_FILE at the key file");
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      throw usageError(
        `key file ${path} is accessible by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); refusing to use it`,
        `chmod 600 ${path}`,
      );
    }
    checkKeyFileOwner(path, st);
    checkKeyFileDirectory(path);
    if (st.size > 1024) throw notAKeyFile(path);
    const text = readFileSync(fd, "utf8").trim();
    if (!KEY_FILE_RE.test(text)) throw notAKeyFile(path);
    const key = Buffer.from(text, "base64");
    if (key.length !== KEY_BYTES) throw notAKeyFile(path);
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * A key file someone else owns could have been planted: its key would unlock a vault whose secrets
 * that someone can then read, or it was made for another user's vault. Refused (usage, exit 2).
 */
function checkKeyFileOwner(path: string, st: Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined || st.uid === uid) return;
  throw usageError(
    `key file ${path} belongs to another user (uid ${st.uid}, you are uid ${uid}); refusing to use it`,
    `use a key file you own: create one with \`rekey vault add-key-file PATH\`, or chown ${path} to yourself`,
  );
}

/**
 * Whoever can write the key file's directory can replace the file (rename over it) with a key of their
 * own between two runs; the sticky bit stops that for files they do not own (every key file is ours).
 * A directory owned by another user (other than root) is theirs to rearrange. Both refused (exit 2).
 */
export function checkKeyFileDirectory(path: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const dir = dirname(path);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (cause) {
    throw usageError(
      `cannot check the directory of key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`,
      "choose a key file in a directory you own",
    );
  }
  const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw usageError(
      `key file ${path} is in a directory other users can write to (${dir}, mode ${mode}); refusing to use it`,
      `chmod go-w ${dir}, or keep the key file in a directory only you can write (e.g. $REKEY_HOME)`,
    );
  }
  if (st.uid !== uid && st.uid !== 0) {
    throw usageError(
      `key file ${path} is in a directory that belongs to another user (${dir}, uid ${st.uid}); refusing to use it`,
      "keep the key file in a directory you own (e.g. $REKEY_HOME)",
    );
  }
}

function notAKeyFile(path: string) {
  return usageError(
    `${path} is not a rekey key file: expected 32 random bytes in base64 (44 characters)`,
    "point REKEY_KEY_FILE at the key file created by `rekey init --key-file PATH`",
  );
}

/**
 * Create a new key file (mode 0600, exclusive: an existing file is never overwritten) and return its key.
 * The parent directory is created (0700) if missing.
 */
export function createKeyFile(path: string): Buffer {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw usageError(`cannot create key file ${path}: ${(cause as Error).message}`, "choose a writable path");
  }
  checkKeyFileDirectory(path);
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
      throw conflict(
        `key file ${path} already exists`,
        "use it, or choose another path for the new key file",
      );
    }
    throw usageError(`cannot create key file ${path}: ${(cause as Error).message}`, "choose a writable path");
  }
  const key = randomKey();
  try {
    fchmodSync(fd, 0o600); // the umask can only narrow the mode; make sure it is exactly 0600
    writeSync(fd, `${key.toString("base64")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

/** Use the key file at `path` if it exists, else create it. */
export function loadOrCreateKeyFile(path: string): { key: Buffer; created: boolean } {
  try {
    return { key: createKeyFile(path), created: true };
  } catch (err) {
    if (err instanceof RekeyError && err.kind === "conflict")
      return { key: readKeyFile(path), created: false };
    throw err;
  }
}

// ---- slots --------------------------------------------------------------------------------------------

function checkScrypt(p: ScryptParams): void {
  const ok =
    Number.isInteger(p.N) &&
    p.N >= 2 ** 10 &&
    p.N <= 2 ** 22 &&
    (p.N & (p.N - 1)) === 0 &&
    Number.isInteger(p.r) &&
    p.r >= 1 &&
    p.r <= 32 &&
    Number.isInteger(p.p) &&
    p.p >= 1 &&
    p.p <= 16 &&
    128 * p.N * p.r * p.p <= 2 ** 31;
  if (!ok)
    throw usageError(`unusable scrypt parameters N=${p.N} r=${p.r} p=${p.p}`, "N a power of two 2^10..2^22");
}

function passphraseKek(passphrase: Secret, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  checkScrypt(p);
  const pw = Buffer.from(passphrase.reveal().normalize("NFC"), "utf8");
  return new Promise((ok, fail) => {
    scrypt(
      pw,
      salt,
      KEY_BYTES,
      { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * p.p + 2 ** 24 },
      (err, key) => {
        zeroize(pw);
        if (err) fail(err);
        else ok(key);
      },
    );
  });
}

function passphraseAad(vaultId: string, s: PassphraseSlot["kdf"]): string {
  return aad("rekey.slot.v1", vaultId, "passphrase", "scrypt", s.N, s.r, s.p, s.salt);
}

function keyFileKek(fileKey: Buffer, salt: string): Buffer {
  return deriveKey(fileKey, "rekey key-file slot v1", Buffer.from(salt, "base64"));
}

function keyFileAad(vaultId: string, salt: string): string {
  return aad("rekey.slot.v1", vaultId, "key-file", salt);
}

/** A passphrase slot wrapping `vmk` (runs scrypt once: slow by design unless `kdf` says otherwise). */
export async function makePassphraseSlot(
  vmk: Buffer,
  passphrase: Secret,
  vaultId: string,
  kdf: Partial<ScryptParams> = {},
): Promise<PassphraseSlot> {
  if (passphrase.length === 0) throw usageError("the passphrase is empty", "choose a non-empty passphrase");
  const params = { ...DEFAULT_SCRYPT, ...kdf };
  const salt = randomBytes(16);
  const kek = await passphraseKek(passphrase, salt, params);
  const slotKdf = { name: "scrypt" as const, ...params, salt: salt.toString("base64") };
  try {
    const wrapped = wrapKey(kek, vmk, passphraseAad(vaultId, slotKdf)).toString("base64");
    return { kind: "passphrase", kdf: slotKdf, wrapped };
  } finally {
    zeroize(kek);
  }
}

/** A key-file slot wrapping `vmk` under the key file's 32 bytes. */
export function makeKeyFileSlot(vmk: Buffer, fileKey: Buffer, vaultId: string): KeyFileSlot {
  const salt = randomBytes(16).toString("base64");
  const kek = keyFileKek(fileKey, salt);
  try {
    return {
      kind: "key-file",
      salt,
      wrapped: wrapKey(kek, vmk, keyFileAad(vaultId, salt)).toString("base64"),
    };
  } finally {
    zeroize(kek);
  }
}

/** True if `fileKey` already opens one of the key-file slots. */
export function keyFileOpensSlots(slots: KeySlot[], fileKey: Buffer, vaultId: string): boolean {
  const vmk = tryKeyFileSlots(slots, fileKey, vaultId);
  zeroize(vmk);
  return vmk !== undefined;
}

function tryKeyFileSlots(slots: KeySlot[], fileKey: Buffer, vaultId: string): Buffer | undefined {
  for (const slot of slots) {
    if (slot.kind !== "key-file") continue;
    const kek = keyFileKek(fileKey, slot.salt);
    try {
      return unwrapKey(kek, Buffer.from(slot.wrapped, "base64"), keyFileAad(vaultId, slot.salt), "key slot");
    } catch {
      // not this slot
    } finally {
      zeroize(kek);
    }
  }
  return undefined;
}

/**
 * Unwrap the VMK with the key file (if given) or else the passphrase. Wrong passphrase / key file → auth error
 * naming the vault. The caller owns (and should zeroize) the returned key.
 */
export async function unlockMasterKey(
  slots: KeySlot[],
  source: UnlockSource,
  vault: { id: string; path: string },
): Promise<Buffer> {
  if (source.keyFile) {
    if (!slots.some((s) => s.kind === "key-file")) {
      throw new RekeyError("auth", `vault ${vault.path} has no key file: it is unlocked by its passphrase`, {
        hint: "unset REKEY_KEY_FILE and give the passphrase (REKEY_PASSPHRASE or the prompt)",
      });
    }
    const fileKey = readKeyFile(source.keyFile);
    try {
      const vmk = tryKeyFileSlots(slots, fileKey, vault.id);
      if (vmk) return vmk;
    } finally {
      zeroize(fileKey);
    }
    throw new RekeyError("auth", `key file ${source.keyFile} does not unlock vault ${vault.path}`, {
      hint: "set REKEY_KEY_FILE to the key file made for this vault, or unset it to use the passphrase",
    });
  }
  if (source.passphrase) {
    const pslots = slots.filter((s): s is PassphraseSlot => s.kind === "passphrase");
    if (pslots.length === 0) {
      throw new RekeyError("auth", `vault ${vault.path} has no passphrase: it is unlocked by its key file`, {
        hint: "set REKEY_KEY_FILE to the vault's key file",
      });
    }
    for (const slot of pslots) {
      const kek = await passphraseKek(source.passphrase, Buffer.from(slot.kdf.salt, "base64"), slot.kdf);
      try {
        return unwrapKey(
          kek,
          Buffer.from(slot.wrapped, "base64"),
          passphraseAad(vault.id, slot.kdf),
          "key slot",
        );
      } catch {
        // try the next passphrase slot
      } finally {
        zeroize(kek);
      }
    }
    throw new RekeyError("auth", `wrong passphrase for vault ${vault.path}`, {
      hint: "check REKEY_PASSPHRASE (or type it again); with a key file, set REKEY_KEY_FILE instead",
    });
  }
  throw new RekeyError("auth", `the vault ${vault.path} is locked: no passphrase and no key file`, {
    hint: "set REKEY_PASSPHRASE or REKEY_KEY_FILE",
  });
}

/** Parse the slots stored in the vault (untrusted input: a bad shape is an integrity error upstream). */
export function parseKeySlots(json: string): KeySlot[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  const out: KeySlot[] = [];
  for (const s of v as Array<Record<string, unknown>>) {
    if (typeof s !== "object" || s === null || typeof s.wrapped !== "string") return undefined;
    if (s.kind === "key-file" && typeof s.salt === "string") {
      out.push({ kind: "key-file", salt: s.salt, wrapped: s.wrapped });
    } else if (s.kind === "passphrase" && typeof s.kdf === "object" && s.kdf !== null) {
      const k = s.kdf as Record<string, unknown>;
      if (k.name !== "scrypt" || typeof k.salt !== "string") return undefined;
      if (![k.N, k.r, k.p].every((n) => typeof n === "number")) return undefined;
      out.push({
        kind: "passphrase",
        kdf: { name: "scrypt", N: k.N as number, r: k.r as number, p: k.p as number, salt: k.salt },
        wrapped: s.wrapped,
      });
    } else {
      return undefined;
    }
  }
  return out;
}
