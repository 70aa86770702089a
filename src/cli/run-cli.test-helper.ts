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
