/** Test helper: run the real bundled `rekey` as a child process, as a user would. */
import { spawnSync } from "node:child_process";
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
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REKEY_LOG_LEVEL: "silent", ...opts.env },
    input: opts.input ?? "",
    encoding: "utf8",
    cwd: opts.cwd,
    timeout: 60_000,
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

/** Like `rekey`, without blocking the event loop (needed when the test process serves the sandbox). */
export async function rekeyAsync(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<AsyncCliResult> {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REKEY_LOG_LEVEL: "silent", ...opts.env },
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
  child.stdin.end(opts.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code, signal] = (await new Promise((res) => child.on("close", (c, s) => res([c, s])))) as [
    number | null,
    NodeJS.Signals | null,
  ];
  clearTimeout(timer);
  return { code: code ?? -1, signal, stdout, stderr };
}
