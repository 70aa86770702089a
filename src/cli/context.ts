/**
 * What every command gets: where to write, the environment, and a lazily opened vault.
 * Commands never read process.env or write to process.stdout themselves, so tests can run them
 * in-process and the vault opens only for commands that need it.
 */
import type { AsyncVaultStore } from "../vault/async-store.js";
import { printable } from "./printable.js";

export interface Output {
  write(text: string): void;
  /**
   * Resolves once what was written has left the process's buffer (a stream's 'drain'): a long listing waits
   * on it between pages, so a slow reader (a pager, a pipe) holds it back instead of filling memory. Absent:
   * nothing to wait for (in-memory outputs in tests).
   */
  drain?(): Promise<void>;
}

export interface CommandContext {
  env: NodeJS.ProcessEnv;
  stdout: Output;
  stderr: Output;
  /** The command's name as typed, e.g. "rekey record edit": recorded as the actor in history and audit. */
  actor: string;
  /** True when stdin and stderr are terminals: we may prompt. */
  interactive: boolean;
  /** True when stdout is a terminal: a command that prints a secret for a pipe (rekey env) refuses it. */
  /** True when stderr is a terminal (progress lines are drawn there only then). */
  stderrIsTerminal: boolean;
  stdoutIsTerminal: boolean;
  /**
   * The process's exit code when the command returns normally (0 unless set): `rekey exec` passes on its
   * child's. An error thrown still exits with its kind's code.
   */
  exitCode: number;
  /**
   * Opens (once) the vault named by the environment (the local vault or a Keeper vault). The caller must not
   * close it. What a backend cannot do is refused with requireCapability (vault/async-store.ts).
   * `check: "scoped"`: for a command that reads single records and writes only the audit log, the local
   * vault checks at open what is cheap and then each record read (sqlite-open.ts, OpenVaultOptions.check).
   * The first call opens the vault: its option is the one used.
   */
  asyncVault(opts?: { check?: "scoped" }): Promise<AsyncVaultStore>;
  /** Reads all of stdin (for secrets and JSON input; never argv). */
  readStdin(): Promise<string>;
}

/** One human-readable message (never data to pipe: control characters are escaped, see printable). */
export function line(out: Output, text = ""): void {
  out.write(`${printable(text, { multiline: true })}\n`);
}

export function printJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}
