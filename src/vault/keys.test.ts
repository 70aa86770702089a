import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { TEST_KDF, tempDir } from "../testing/vault.js";
import { randomKey } from "./crypto.js";
import {
  createKeyFile,
  DEFAULT_SCRYPT,
  loadOrCreateKeyFile,
  makeKeyFileSlot,
  makePassphraseSlot,
  parseKeySlots,
  readKeyFile,
  resolveUnlockSource,
  unlockMasterKey,
} from "./keys.js";

const kind = (k: string, text?: string) => (err: unknown) =>
  err instanceof RekeyError &&
  err.kind === k &&
  (text === undefined || `${err.message} ${err.hint}`.includes(text));

const vault = { id: "vault-1", path: "/tmp/x/vault.db" };

test("resolveUnlockSource: REKEY_KEY_FILE, then REKEY_PASSPHRASE, then the prompt, else a clear auth error", async () => {
  const both = await resolveUnlockSource(
    { REKEY_KEY_FILE: "/k", REKEY_PASSPHRASE: "pw" },
    { interactive: true },
  );
  assert.deepEqual(both, { keyFile: "/k" });
  const pw = await resolveUnlockSource({ REKEY_PASSPHRASE: "pw" }, { interactive: true });
  assert.equal(pw.passphrase?.reveal(), "pw");
  let asked = 0;
  const prompted = await resolveUnlockSource(
    {},
    {
      interactive: true,
      promptPassphrase: async () => {
        asked++;
        return new Secret("typed");
      },
    },
  );
  assert.equal(prompted.passphrase?.reveal(), "typed");
  assert.equal(asked, 1);
  await assert.rejects(
    resolveUnlockSource({}, { interactive: false, vaultPath: "/v.db" }),
    (err: unknown) =>
      err instanceof RekeyError &&
      err.kind === "auth" &&
      err.message === "the vault /v.db is locked: no passphrase and no TTY" &&
      err.hint === "set REKEY_PASSPHRASE or REKEY_KEY_FILE",
  );
});

test("a key file is 32 random bytes in base64, created with mode 0600, never overwritten", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, "sub", "vault.key");
  const key = createKeyFile(path);
  assert.equal(key.length, 32);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, "sub")).mode & 0o777, 0o700);
  assert.match(readFileSync(path, "utf8"), /^[A-Za-z0-9+/]{43}=\n$/);
  assert.deepEqual(readKeyFile(path), key);
  assert.throws(() => createKeyFile(path), kind("conflict", "already exists"));
  assert.deepEqual(loadOrCreateKeyFile(path), { key, created: false });
});

test("readKeyFile refuses a key file others can read, with the chmod fix", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, "vault.key");
  createKeyFile(path);
  chmodSync(path, 0o644);
  assert.throws(() => readKeyFile(path), kind("usage", `chmod 600 ${path}`));
  chmodSync(path, 0o600);
  readKeyFile(path);
});

const NOBODY = 65534;
const asRoot = { skip: process.getuid?.() !== 0 ? "chown needs root" : false };

test("readKeyFile refuses a 0600 key file owned by another user (a planted key)", asRoot, (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, "vault.key");
  createKeyFile(path);
  chownSync(path, NOBODY, NOBODY);
  assert.throws(() => readKeyFile(path), kind("usage", "belongs to another user (uid 65534"));
  assert.throws(() => loadOrCreateKeyFile(path), kind("usage", "belongs to another user"));
});

test("a key file in a directory others can write (no sticky bit) is refused, read or created", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const open = join(dir, "open");
  mkdirSync(open);
  chmodSync(open, 0o777);
  const made = join(open, "made.key");
  assert.throws(() => createKeyFile(made), kind("usage", "other users can write to"));
  const group = join(dir, "group");
  mkdirSync(group);
  const path = join(group, "vault.key");
  createKeyFile(path);
  chmodSync(group, 0o770);
  assert.throws(() => readKeyFile(path), kind("usage", `chmod go-w ${group}`));
  // The sticky bit (like /tmp): others cannot rename or remove a file they do not own.
  chmodSync(group, 0o1777);
  readKeyFile(path);
  chmodSync(group, 0o700);
  readKeyFile(path);
});

test("a key file in a directory owned by another user is refused", asRoot, (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const theirs = join(dir, "theirs");
  mkdirSync(theirs, { mode: 0o755 });
  const path = join(theirs, "vault.key");
  createKeyFile(path);
  chownSync(theirs, NOBODY, NOBODY);
  assert.throws(() => readKeyFile(path), kind("usage", `belongs to another user (${theirs}`));
});

test("readKeyFile: a missing file, a wrong size, a non-key file are clear errors", (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  assert.throws(() => readKeyFile(join(dir, "nope")), kind("not-found", "does not exist"));
  const short = join(dir, "short");
  writeFileSync(short, `${randomKey().subarray(0, 16).toString("base64")}\n`, { mode: 0o600 });
  assert.throws(() => readKeyFile(short), kind("usage", "not a rekey key file"));
  const text = join(dir, "text");
  writeFileSync(text, "hello world\n", { mode: 0o600 });
  assert.throws(() => readKeyFile(text), kind("usage", "not a rekey key file"));
  assert.throws(() => readKeyFile(dir), kind("usage"));
});

test("a passphrase slot unlocks with the passphrase only; the default KDF is strong", async () => {
  assert.deepEqual(DEFAULT_SCRYPT, { N: 2 ** 17, r: 8, p: 1 });
  const vmk = randomKey();
  const slot = await makePassphraseSlot(vmk, new Secret("pw one"), vault.id, TEST_KDF);
  assert.equal(slot.kdf.N, TEST_KDF.N);
  assert.deepEqual(await unlockMasterKey([slot], { passphrase: new Secret("pw one") }, vault), vmk);
  await assert.rejects(
    unlockMasterKey([slot], { passphrase: new Secret("pw two") }, vault),
    kind("auth", `wrong passphrase for vault ${vault.path}`),
  );
  // The slot is bound to its vault and its KDF parameters: weakening N or moving it to another vault fails.
  await assert.rejects(
    unlockMasterKey([slot], { passphrase: new Secret("pw one") }, { ...vault, id: "vault-2" }),
    kind("auth"),
  );
  const weakened = { ...slot, kdf: { ...slot.kdf, N: 2 ** 10 } };
  await assert.rejects(
    unlockMasterKey([weakened], { passphrase: new Secret("pw one") }, vault),
    kind("auth"),
  );
  await assert.rejects(makePassphraseSlot(vmk, new Secret(""), vault.id, TEST_KDF), kind("usage"));
});

test("a key-file slot unlocks with the key file, without the passphrase KDF", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const vmk = randomKey();
  const keyFile = join(dir, "k");
  const other = join(dir, "other");
  const slots = [
    await makePassphraseSlot(vmk, new Secret("pw"), vault.id, TEST_KDF),
    makeKeyFileSlot(vmk, createKeyFile(keyFile), vault.id),
  ];
  createKeyFile(other);
  const started = performance.now();
  assert.deepEqual(await unlockMasterKey(slots, { keyFile }, vault), vmk);
  assert.ok(performance.now() - started < 50, "no scrypt on the key-file path");
  await assert.rejects(
    unlockMasterKey(slots, { keyFile: other }, vault),
    kind("auth", `key file ${other} does not unlock vault ${vault.path}`),
  );
  await assert.rejects(unlockMasterKey([slots[0]!], { keyFile }, vault), kind("auth", "no key file"));
  await assert.rejects(
    unlockMasterKey([slots[1]!], { passphrase: new Secret("pw") }, vault),
    kind("auth", "no passphrase"),
  );
  await assert.rejects(unlockMasterKey(slots, {}, vault), kind("auth", "locked"));
  assert.deepEqual(parseKeySlots(JSON.stringify(slots)), slots);
  assert.equal(parseKeySlots("{}"), undefined);
  assert.equal(parseKeySlots('[{"kind":"magic","wrapped":"x"}]'), undefined);
});
