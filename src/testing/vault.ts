/** Shared by the vault's tests: real vault files in fresh temp dirs, with a cheap KDF (tests only). */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Secret } from "../secret.js";
import { initVault } from "../stores/sqlite/sqlite-open.js";
import type { SqliteVaultStore } from "../stores/sqlite/sqlite-store.js";
import type { ScheduleIndexRow } from "../vault/async-store.js";

/** scrypt N=2^12: a few ms instead of ~0.5 s. Never used outside tests. */
export const TEST_KDF = { N: 2 ** 12 } as const;
export const TEST_PASSPHRASE = "correct horse battery staple";

export interface TempVault {
  dir: string;
  path: string;
  keyFile: string;
  store: SqliteVaultStore;
  cleanup(): void;
}

export function tempDir(prefix = "rekey-vault-"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A new vault with both a passphrase slot and a key-file slot. */
export async function tempVault(opts: { keyFile?: boolean; passphrase?: boolean } = {}): Promise<TempVault> {
  const { dir, cleanup } = tempDir();
  const path = join(dir, "home", "vault.db");
  const keyFile = join(dir, "vault.key");
  const store = await initVault(path, {
    ...(opts.passphrase === false ? {} : { passphrase: new Secret(TEST_PASSPHRASE) }),
    ...(opts.keyFile === false ? {} : { keyFile }),
    kdf: TEST_KDF,
    actor: "test",
  });
  return {
    dir,
    path,
    keyFile,
    store,
    cleanup() {
      store.close();
      cleanup();
    },
  };
}

/** The bytes of the vault file and its WAL (if any), for "nothing readable at rest" checks. */
export function vaultBytes(path: string): Buffer {
  const parts = [readFileSync(path)];
  for (const extra of [`${path}-wal`, `${path}-journal`]) {
    try {
      parts.push(readFileSync(extra));
    } catch {
      // absent
    }
  }
  return Buffer.concat(parts);
}

/** A second process running fixtures/vault-child.ts: JSON lines out, command lines in. */
const CHILD = fileURLToPath(new URL("./fixtures/vault-child.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface VaultChild {
  proc: ChildProcessWithoutNullStreams;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
  exited: Promise<number | null>;
}

/** `launcher`: a command the child runs under (e.g. `unshare --pid --fork ...`), node's argv appended. */
export function spawnVaultChild(args: string[], opts: { launcher?: string[] } = {}): VaultChild {
  const argv = [process.execPath, "--import", "tsx", CHILD, ...args];
  const [cmd, ...rest] = [...(opts.launcher ?? []), ...argv] as [string, ...string[]];
  const proc = spawn(cmd, rest, { cwd: REPO });
  let stderr = "";
  proc.stderr.on("data", (d) => {
    stderr += d;
  });
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  createInterface({ input: proc.stdout }).on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const exited = new Promise<number | null>((ok) => proc.on("exit", (code) => ok(code)));
  return {
    proc,
    exited,
    send: (line) => proc.stdin.write(`${line}\n`),
    async next() {
      const line = await Promise.race([
        new Promise<string>((ok) => {
          const l = queue.shift();
          if (l !== undefined) ok(l);
          else waiters.push(ok);
        }),
        exited.then((code) => {
          throw new Error(`child exited (${code}) before answering: ${stderr}`);
        }),
        sleep(20_000, undefined, { ref: false }).then(() => {
          throw new Error(`child did not answer in time: ${stderr}`);
        }),
      ]);
      return JSON.parse(line) as Record<string, unknown>;
    },
  };
}

/** A schedule index row for the index tables' tests (SQLite and PostgreSQL), with `over` applied. */
export const scheduleIndexRow = (uid: string, over: Partial<ScheduleIndexRow> = {}): ScheduleIndexRow => ({
  uid,
  revision: 1,
  type: "pamUser",
  nextDueAt: 1_700_000_000_000,
  lastOutcome: null,
  configurationUid: null,
  identities: ["a", "b"],
  computedAt: 1_700_000_000_000,
  ...over,
});
