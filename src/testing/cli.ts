/** Test helper: run the real bundled `rekey` as a child process, as a user would. */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const BIN = resolve(import.meta.dirname, "../../bin/rekey.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function rekey(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): CliResult {
  const res = spawnSync(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REKEY_LOG_LEVEL: "silent",
      // The sandbox reports last use to the millisecond (AWS: to the minute).
      REKEY_LAST_USE_RESOLUTION_MS: "1",
      ...opts.env,
    },
    input: opts.input ?? "",
    encoding: "utf8",
    cwd: opts.cwd,
    timeout: 60_000,
    // A long listing (an audit log with thousands of entries) is more than spawnSync's 1 MiB default: past
    // it the child is killed and its JSON cut short.
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

/** A fresh REKEY_HOME with an initialised vault, unlocked by a key file (fast) and a passphrase. */
export function freshHome(): { home: string; env: NodeJS.ProcessEnv } {
  const home = mkdtempSync(join(tmpdir(), "rekey-cli-"));
  const keyFile = join(home, "vault.key");
  const env = { REKEY_HOME: home, REKEY_PASSPHRASE: "correct horse battery staple" };
  const r = rekey(["init", "--key-file", keyFile], { env });
  if (r.code !== 0) throw new Error(`rekey init failed: ${r.stderr}`);
  return { home, env: { REKEY_HOME: home, REKEY_KEY_FILE: keyFile } };
}

export interface AsyncCliResult extends CliResult {
  signal: NodeJS.Signals | null;
}

/** A Node child process whose output is collected as it comes. */
export interface NodeChild {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited and its streams are closed; rejects if it could not start. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
}

/**
 * `node ARGS` with exactly `env` (nothing inherited from the test runner), `input` written to its stdin
 * (then closed); with `timeoutMs`, SIGKILLed when it runs longer.
 */
export function spawnNode(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number },
): NodeChild {
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  child.stdin.on("error", () => {}); // a child that exits before reading all of stdin
  child.stdin.end(opts.input ?? "");
  const timer =
    opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res, rej) => {
    child.on("error", rej);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      res({ code, signal });
    });
  });
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Like `rekey`, without blocking the event loop (needed when the test process serves the sandbox). */
export async function rekeyAsync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<AsyncCliResult> {
  const run = spawnNode([BIN, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REKEY_LOG_LEVEL: "silent",
      // The sandbox reports last use to the millisecond (AWS: to the minute).
      REKEY_LAST_USE_RESOLUTION_MS: "1",
      ...opts.env,
    },
    input: opts.input ?? "",
    timeoutMs: 60_000,
  });
  const { code, signal } = await run.exited;
  return { code: code ?? -1, signal, ...run.output() };
}

/** An access key as a test holds it (the sandbox's admin helpers return this shape). */
export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * `rekey record add` a credential record (type login, title `title`) holding `key`, and, with `user`, a
 * pamUser record for that IAM user holding `user.key` with `rotation_credentials` = `title`. Secrets go
 * on stdin, as a user would give them (never argv). Asserts exit 0.
 */
export async function addKeyRecords(
  env: NodeJS.ProcessEnv,
  title: string,
  key: TestKey,
  user?: { name: string; key: TestKey },
): Promise<void> {
  const add = async (args: string[], secret: string) => {
    const r = await rekeyAsync(["record", "add", ...args, "--secret", "aws_secret_access_key"], {
      env,
      input: `${secret}\n`,
    });
    if (r.code !== 0) throw new Error(`record add ${args.join(" ")}: ${r.stderr}`);
  };
  await add(
    ["--type", "login", "--title", title, "--set", `aws_access_key_id=${key.accessKeyId}`],
    key.secretAccessKey,
  );
  if (!user) return;
  await add(
    [
      "--title",
      user.name,
      "--set",
      `login=${user.name}`,
      "--set",
      `aws_access_key_id=${user.key.accessKeyId}`,
      "--set",
      `rotation_credentials=${title}`,
    ],
    user.key.secretAccessKey,
  );
}
