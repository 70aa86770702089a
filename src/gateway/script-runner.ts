/**
 * Runs one post-rotation script the way the Keeper Gateway does: `<command> <script file>` with one
 * line on stdin (the base64 parameters + "\n"), success = exit code 0.
 *
 * Invariants (architecture.md #4, secrets never in argv/logs/output):
 * - argv is the command and the script path only; a known secret found in either is refused.
 * - The environment is PATH, HOME and LANG (from the gateway's own) plus what the caller adds, so the
 *   gateway's own secrets (AWS_SECRET_ACCESS_KEY, a vault passphrase) never reach a script.
 * - stdout/stderr are capped, then known secret values are replaced by "[REDACTED]", in every form
 *   `secretForms` lists (raw, JSON-escaped, URL-encoded, base64 at any alignment): a script that
 *   prints a key URL-encoded or inside a base64 blob leaks it as surely as one printing it raw. A
 *   secret cut by the cap can only sit at the very end of the kept bytes; that tail is dropped too.
 * - The script content goes to a 0600 file in a fresh 0700 directory, removed afterwards.
 * - A timeout sends SIGTERM to the script's whole process group, then SIGKILL after a grace period.
 */
import { spawn } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { performance } from "node:perf_hooks";
import { usageError } from "../errors.js";
import { redactForms, Secret, secretFormsOf } from "../secret.js";
import { parseCommand } from "./scripts.js";

export interface RunScriptOptions {
  /** Interpreter, e.g. "node" (split on whitespace, no shell). */
  command: string;
  /** Run this file as is... */
  scriptPath?: string | undefined;
  /** ...or write this content to a temporary file first. */
  content?: string | Uint8Array | undefined;
  /** Name for the temporary file (its extension matters to some interpreters). Default "script". */
  fileName?: string | undefined;
  /** The line for stdin, without its newline (buildGatewayParams). */
  stdinLine: string;
  timeoutMs: number;
  /** Between SIGTERM and SIGKILL (default 2000 ms). */
  killGraceMs?: number | undefined;
  /** Added to the minimal environment. Not checked for secrets: the caller chooses them. */
  env?: Record<string, string> | undefined;
  /** Where PATH, HOME, LANG come from (default process.env). */
  baseEnv?: Record<string, string | undefined> | undefined;
  /** Values to redact from stdout/stderr and to refuse in argv. The stdin line is always added. */
  secrets?: Iterable<string | Secret | undefined> | undefined;
  /** Per stream (default 64 KiB). */
  maxOutputBytes?: number | undefined;
  /** Where the temporary directory goes (default the OS temp dir). */
  tmpRoot?: string | undefined;
  /** Monotonic milliseconds, for durationMs (default performance.now). */
  clock?: (() => number) | undefined;
}

export interface ScriptRunResult {
  /** null when killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Exit code 0 and no timeout. */
  success: boolean;
  durationMs: number;
  truncated: { stdout: boolean; stderr: boolean };
  /** Why the script could not start (e.g. the command was not found). */
  error?: string;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;
/** After the script exits, how long its output pipes may stay open (a background child holding them). */
const PIPE_DRAIN_MS = 1000;

export async function runScript(opts: RunScriptOptions): Promise<ScriptRunResult> {
  const clock = opts.clock ?? (() => performance.now());
  const values = [...(opts.secrets ?? []), opts.stdinLine];
  const secrets = secretFormsOf(values);
  const argv = parseCommand(opts.command);
  if (!opts.scriptPath && opts.content === undefined) {
    throw usageError("runScript needs scriptPath or content", "pass the script file or its content");
  }
  const dir = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), "rekey-script-"));
  try {
    await chmod(dir, 0o700);
    let scriptPath = opts.scriptPath;
    if (!scriptPath) {
      scriptPath = join(dir, safeName(opts.fileName));
      await writeFile(scriptPath, opts.content ?? "", { mode: 0o600, flag: "wx" });
    }
    const args = [...argv.slice(1), scriptPath];
    for (const a of [argv[0]!, ...args]) {
      // The values as given, not every encoded form: a short base64 core could match the random
      // name of the temporary directory.
      if (containsSecret(a, values)) {
        throw usageError(
          "refusing to run a script with a secret in its command line",
          "remove it from --command",
        );
      }
    }
    return await spawnAndWait(argv[0]!, args, dir, opts, secrets, clock);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The minimal environment: PATH, HOME, LANG, plus the caller's additions. */
export function minimalEnv(
  base: Record<string, string | undefined> = process.env,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "LANG"]) {
    const v = base[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...extra };
}

function spawnAndWait(
  cmd: string,
  args: string[],
  cwd: string,
  opts: RunScriptOptions,
  secrets: string[],
  clock: () => number,
): Promise<ScriptRunResult> {
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const grace = opts.killGraceMs ?? 2000;
  const started = clock();
  return new Promise((resolve) => {
    const out = new Capture(max);
    const err = new Capture(max);
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let startError: string | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    // detached: the script leads its own process group, so a timeout also stops what it started.
    const child = spawn(cmd, args, {
      cwd,
      env: minimalEnv(opts.baseEnv, opts.env),
      stdio: ["pipe", "pipe", "pipe"],
      detached: process.platform !== "win32",
      windowsHide: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      if (!child.pid) return;
      try {
        process.kill(process.platform === "win32" ? child.pid : -child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const finish = (how: "closed" | "drained" | "failed") => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      // Nothing of the script may outlive its run: when its pipes are still open, something it
      // started holds them.
      if (how !== "closed") killGroup("SIGKILL");
      child.stdout?.destroy();
      child.stderr?.destroy();
      const code = exit?.code ?? null;
      const result: ScriptRunResult = {
        exitCode: code,
        signal: exit?.signal ?? null,
        stdout: out.text(secrets),
        stderr: err.text(secrets),
        timedOut,
        success: code === 0 && !timedOut && startError === undefined,
        durationMs: Math.max(0, Math.round(clock() - started)),
        truncated: { stdout: out.truncated, stderr: err.truncated },
      };
      if (startError !== undefined) result.error = redactForms(startError, secrets);
      resolve(result);
    };

    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    // A script that exits without reading stdin makes the write fail with EPIPE: not an error here.
    child.stdin.on("error", () => {});
    child.on("error", (e) => {
      startError = e.message;
      finish("failed");
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      timers.push(setTimeout(() => finish("drained"), PIPE_DRAIN_MS));
    });
    child.on("close", () => finish("closed"));

    timers.push(
      setTimeout(() => {
        if (exit !== undefined) return;
        timedOut = true;
        killGroup("SIGTERM");
        timers.push(setTimeout(() => killGroup("SIGKILL"), grace));
      }, opts.timeoutMs),
    );

    child.stdin.end(`${opts.stdinLine}\n`);
  });
}

/** Collects up to `max` bytes of a stream; the rest is counted, not kept. */
class Capture {
  private chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  push(b: Buffer): void {
    const room = this.max - this.kept;
    if (b.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(part);
    this.kept += part.length;
  }

  text(secrets: string[]): string {
    let t = redactForms(Buffer.concat(this.chunks).toString("utf8"), secrets);
    if (this.truncated) t = `${dropSecretPrefixTail(t, secrets)}\n[output truncated]`;
    return t;
  }
}

/** If the text ends with the start of a secret (cut by the cap), drop that tail. */
function dropSecretPrefixTail(text: string, secrets: string[]): string {
  let cut = text.length;
  for (const s of secrets) {
    for (let k = Math.min(s.length - 1, text.length); k > 0; k--) {
      if (text.endsWith(s.slice(0, k))) {
        cut = Math.min(cut, text.length - k);
        break;
      }
    }
  }
  return text.slice(0, cut);
}

function containsSecret(text: string, values: ReadonlyArray<string | Secret | undefined>): boolean {
  return values.some((v) => {
    const raw = v instanceof Secret ? v.reveal() : v;
    return raw !== undefined && raw.length >= 4 && text.includes(raw);
  });
}

function safeName(fileName: string | undefined): string {
  const name = basename(fileName ?? "script").replace(/[^A-Za-z0-9._-]/g, "_");
  return name && name !== "." && name !== ".." ? name : "script";
}
