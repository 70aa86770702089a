import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { isKind } from "../testing/errors.js";
import { TEST_KDF, tempDir } from "../testing/vault.js";
import { newRecord } from "../vault/record.js";
import { initDefaultVault, openDefaultAsyncVault, openDefaultVault, resolveVaultLocation } from "./open.js";

const pathOf = (env: NodeJS.ProcessEnv) => {
  const l = resolveVaultLocation(env);
  return l.backend === "sqlite" ? l.path : undefined;
};

test("resolveVaultLocation: REKEY_HOME, REKEY_VAULT=sqlite:PATH or PATH, keeper:KSM_CONFIG, postgres://URL; other backends are not available yet", () => {
  assert.deepEqual(resolveVaultLocation({}), {
    backend: "sqlite",
    path: join(homedir(), ".rekey", "vault.db"),
  });
  assert.equal(pathOf({ REKEY_HOME: "/srv/rk" }), "/srv/rk/vault.db");
  assert.equal(pathOf({ REKEY_VAULT: "sqlite:/a/b.db", REKEY_HOME: "/x" }), "/a/b.db");
  assert.equal(pathOf({ REKEY_VAULT: "sqlite:///a/b.db" }), "/a/b.db");
  assert.equal(pathOf({ REKEY_VAULT: "/c/d.db" }), "/c/d.db");
  assert.equal(pathOf({ REKEY_VAULT: "~/v.db" }), join(homedir(), "v.db"));
  assert.deepEqual(resolveVaultLocation({ REKEY_VAULT: "keeper:/etc/ksm-config.json" }), {
    backend: "keeper",
    configPath: "/etc/ksm-config.json",
  });
  assert.deepEqual(resolveVaultLocation({ REKEY_VAULT: "keeper:", KSM_CONFIG_FILE: "/k/c.json" }), {
    backend: "keeper",
    configPath: "/k/c.json",
  });
  // No path named: the config is looked for when the vault is opened (GATEWAY_CONFIG, the Gateway's files).
  assert.deepEqual(resolveVaultLocation({ REKEY_VAULT: "keeper:" }), { backend: "keeper" });
  // A future URL may carry credentials: the message names the scheme only.
  assert.throws(
    () => resolveVaultLocation({ REKEY_VAULT: "mysql://u:hunter2@db/rekey" }),
    (err: unknown) =>
      err instanceof RekeyError &&
      err.message.includes('backend "mysql"') &&
      !err.message.includes("hunter2") &&
      !String(err.hint).includes("hunter2"),
  );
  assert.throws(() => resolveVaultLocation({ REKEY_VAULT: "sqlite:" }), isKind("usage"));
  // PostgreSQL: the URL goes to the client; what is shown (path) has no password.
  assert.deepEqual(
    resolveVaultLocation({ REKEY_VAULT: "postgres://u:hunter2@db:5432/rekey?sslmode=require" }),
    {
      backend: "postgres",
      url: "postgres://u:hunter2@db:5432/rekey?sslmode=require",
      path: "postgres://u@db:5432/rekey?sslmode=require",
    },
  );
  assert.throws(
    () => resolveVaultLocation({ REKEY_VAULT: "postgres://u:hunter2@db" }),
    (err: unknown) => isKind("usage")(err) && !String((err as Error).message).includes("hunter2"),
  );
});

test("a Keeper vault: the local-vault-only paths refuse it clearly; the async port opens it", async (t) => {
  const env = { REKEY_VAULT: "keeper:/nonexistent/ksm.json" };
  await assert.rejects(
    openDefaultVault({ env, interactive: false }),
    isKind("usage", "Keeper vault", "rekey init, vault backup and vault restore"),
  );
  await assert.rejects(initDefaultVault({ env, interactive: false }), isKind("usage", "rekey init"));
  // The async port goes to Keeper: here the config is missing, and the error says which file.
  await assert.rejects(
    openDefaultAsyncVault({ env, interactive: false }),
    isKind("not-found", "/nonexistent/ksm.json"),
  );
  // The local vault through the async port.
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const local = { REKEY_HOME: dir, REKEY_PASSPHRASE: "pw for the async port" };
  await initDefaultVault({ env: local, interactive: false, passphrase: true, kdf: TEST_KDF });
  const store = await openDefaultAsyncVault({ env: local, interactive: false });
  const created = await store.createRecord(newRecord("login", "x"), { actor: "t" });
  assert.equal((await store.getRecord(created.uid))?.record.title, "x");
  await store.close();
});

test("init with a key file in REKEY_KEY_FILE, then open with it; a locked vault without TTY is a clear error", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const keyFile = join(dir, "keys", "vault.key");
  const env = {
    REKEY_HOME: join(dir, "home"),
    REKEY_KEY_FILE: keyFile,
    REKEY_PASSPHRASE: "pw for init, long enough",
  };
  const res = await initDefaultVault({ env, interactive: false, kdf: TEST_KDF });
  assert.deepEqual(res, { path: join(dir, "home", "vault.db"), keyFile, keyFileCreated: true });
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, "home")).mode & 0o777, 0o700);

  const store = await openDefaultVault({
    env: { REKEY_HOME: env.REKEY_HOME, REKEY_KEY_FILE: keyFile },
    interactive: false,
  });
  store.createRecord(newRecord("login", "x"), { actor: "t" });
  assert.equal(store.description, `local vault ${res.path}`);
  store.close();
  const byPass = await openDefaultVault({
    env: { REKEY_HOME: env.REKEY_HOME, REKEY_PASSPHRASE: "pw for init, long enough" },
    interactive: false,
  });
  assert.equal(byPass.listRecords().length, 1);
  byPass.close();

  await assert.rejects(
    openDefaultVault({ env: { REKEY_HOME: env.REKEY_HOME }, interactive: false }),
    isKind("auth", "locked: no passphrase and no TTY", "REKEY_PASSPHRASE or REKEY_KEY_FILE"),
  );
  const prompted = await openDefaultVault({
    env: { REKEY_HOME: env.REKEY_HOME },
    interactive: true,
    promptPassphrase: async () => new Secret("pw for init, long enough"),
  });
  prompted.close();
  await assert.rejects(
    initDefaultVault({ env, interactive: false, kdf: TEST_KDF }),
    isKind("conflict", "a vault already exists"),
  );
  // Opening a vault that does not exist says so before asking for any passphrase.
  await assert.rejects(
    openDefaultVault({ env: { REKEY_HOME: join(dir, "none") }, interactive: false }),
    isKind("not-found", "rekey init"),
  );
});

test("init: the passphrase is asked twice on a TTY; no TTY and no passphrase, or mismatch, are clear errors", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const env = { REKEY_HOME: dir };
  await assert.rejects(
    initDefaultVault({ env, interactive: false }),
    isKind("auth", "no TTY", "--no-passphrase"),
  );
  const answers = ["first passphrase", "second passphrase"];
  await assert.rejects(
    initDefaultVault({
      env,
      interactive: true,
      kdf: TEST_KDF,
      promptPassphrase: async () => new Secret(answers.shift()!),
    }),
    isKind("usage", "differ"),
  );
  await assert.rejects(
    initDefaultVault({ env, interactive: false, passphrase: false }),
    isKind("usage", "key file"),
  );
  assert.equal(existsSync(join(dir, "vault.db")), false);

  const prompts: string[] = [];
  const res = await initDefaultVault({
    env,
    interactive: true,
    kdf: TEST_KDF,
    promptPassphrase: async (p) => {
      prompts.push(p);
      return new Secret("the same passphrase");
    },
  });
  assert.equal(prompts.length, 2);
  assert.equal(res.keyFile, undefined);
  const s = await openDefaultVault({
    env: { ...env, REKEY_PASSPHRASE: "the same passphrase" },
    interactive: false,
  });
  s.close();
});

test("init with a key file only (--no-passphrase); add a key file to a passphrase vault later", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const keyFile = join(dir, "only.key");
  const env = { REKEY_HOME: join(dir, "a") };
  const res = await initDefaultVault({ env, interactive: false, passphrase: false, keyFile });
  assert.equal(res.keyFileCreated, true);
  await assert.rejects(
    openDefaultVault({ env: { ...env, REKEY_PASSPHRASE: "anything" }, interactive: false }),
    isKind("auth", "no passphrase", "REKEY_KEY_FILE"),
  );
  (await openDefaultVault({ env: { ...env, REKEY_KEY_FILE: keyFile }, interactive: false })).close();

  const { initVault, openVault } = await import("./sqlite/sqlite-open.js");
  const path = join(dir, "b", "vault.db");
  const store = await initVault(path, { passphrase: new Secret("pw"), kdf: TEST_KDF });
  const later = join(dir, "later.key");
  assert.deepEqual(store.addKeyFileSlot(later, { actor: "t" }), {
    keyFile: later,
    created: true,
    added: true,
  });
  assert.deepEqual(store.addKeyFileSlot(later, { actor: "t" }), {
    keyFile: later,
    created: false,
    added: false,
  });
  await store.addPassphraseSlot(new Secret("second pw"), { actor: "t", kdf: TEST_KDF });
  assert.deepEqual(store.verifyAudit(), { ok: true, entries: 3 });
  store.close();
  (await openVault(path, { keyFile: later })).close();
  (await openVault(path, { passphrase: new Secret("pw") })).close();
  (await openVault(path, { passphrase: new Secret("second pw") })).close();
});
