/**
 * The AWS config file (~/.aws/config) as `rekey aws-profile add` edits it: the `credential_process`
 * command line, quoted so every SDK reads the same argv, and one profile section put in or replaced while
 * every other line stays as it was. Pure, except `writeConfigFile`.
 *
 * How the readers split the line (why the quoting below is what it is):
 * - the JS SDK v3 (`@aws-sdk/credential-provider-process`) runs it with `child_process.exec`: `/bin/sh -c`;
 * - botocore (the AWS CLI, boto3) splits it with `shlex.split` (POSIX rules) and runs the argv;
 * - the Go, Java and Rust SDKs run it with `sh -c` on Linux and macOS.
 * Single quotes mean the same to `sh` and to `shlex`: inside them nothing is special but the quote itself,
 * written `'\''`. Unquoted, only characters neither reader treats specially are left.
 *
 * How the readers parse the file: the JS SDK cuts a line at `;` or `#` that starts the line or follows a
 * blank, quotes or not (`split(/(^|\s)[;#]/)`), and trims the value; botocore's configparser keeps the value
 * whole. A command line the JS SDK would cut is refused rather than written.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { conflict, usageError } from "../errors.js";

const SAFE_ARG = /^[A-Za-z0-9_/.:=@%+,-]+$/;

/** One argument as `sh` and `shlex.split` both read it back unchanged. */
export function quoteArg(arg: string): string {
  if (/[\0\r\n]/.test(arg)) {
    throw usageError(
      `${JSON.stringify(arg)} cannot go into a credential_process line: it holds a line break or NUL`,
      "use paths without line breaks",
    );
  }
  return SAFE_ARG.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The `credential_process` value for `argv`, or a refusal when a reader would not get `argv` back. */
export function commandLine(argv: readonly string[]): string {
  const text = argv.map(quoteArg).join(" ");
  if (/(^|\s)[;#]/.test(text)) {
    throw usageError(
      `the credential_process line would hold " #" or " ;", which the AWS SDK for JavaScript reads as the start of a comment: ${text}`,
      "use paths (REKEY_HOME, the key file, node, rekey) without a blank followed by # or ;",
    );
  }
  return text;
}

export interface CredentialProcessCommand {
  /** Absolute path of node (process.execPath). */
  nodePath: string;
  /** Absolute path of rekey's entry script (bin/rekey.js). */
  entryScript: string;
  /** The variables that name and unlock the vault (never a secret: paths only). */
  vaultEnv: Record<string, string>;
  /** The record's UID. */
  recordUid: string;
  /** `--ttl` for credential-process, when not the default. */
  ttl?: string | undefined;
  /** Absolute path of `env`. */
  envPath?: string;
}

/**
 * `/usr/bin/env REKEY_HOME=... REKEY_KEY_FILE=... /path/node /path/rekey.js credential-process UID`:
 * runs the same rekey on the same vault whatever the application's PATH, HOME and environment are.
 */
export function credentialProcessCommand(c: CredentialProcessCommand): string {
  const vars = Object.entries(c.vaultEnv).map(([k, v]) => `${k}=${v}`);
  // A UID may start with "-" (Keeper UIDs are base64url): "--" keeps it from being read as an option.
  const record = c.recordUid.startsWith("-") ? ["--", c.recordUid] : [c.recordUid];
  return commandLine([
    c.envPath ?? "/usr/bin/env",
    ...vars,
    c.nodePath,
    c.entryScript,
    "credential-process",
    ...(c.ttl ? ["--ttl", c.ttl] : []),
    ...record,
  ]);
}

/** Profile names both readers accept in a section header (the JS SDK's pattern). */
const PROFILE_NAME = /^[A-Za-z0-9_@+.%:/-]+$/;

/** `[default]` or `[profile NAME]`, the config file's header for `profile`. */
export function sectionHeader(profile: string): string {
  if (!PROFILE_NAME.test(profile)) {
    throw usageError(
      `"${profile}" is not a profile name the AWS SDKs read`,
      "use letters, digits and _ - . @ + % : / (e.g. alice or app-prod)",
    );
  }
  return profile === "default" ? "[default]" : `[profile ${profile}]`;
}

/** The profile a header line opens: "default" for `[default]` and `[profile default]`; undefined otherwise. */
export function profileOfLine(line: string): string | undefined {
  const text = line.split(/(^|\s)[;#]/)[0]!.trim();
  if (!text.startsWith("[") || !text.endsWith("]")) return undefined;
  const inner = text.slice(1, -1).trim();
  if (inner === "default") return "default";
  const m = /^profile\s+(["']?)(.+)\1$/.exec(inner);
  return m ? m[2] : undefined;
}

const isHeader = (line: string) => {
  const text = line.split(/(^|\s)[;#]/)[0]!.trim();
  return text.startsWith("[") && text.endsWith("]");
};
const isBlankOrComment = (line: string) => /^\s*([;#].*)?$/.test(line);

export interface UpsertResult {
  text: string;
  /** True when a section for the profile was there (and was replaced). */
  replaced: boolean;
}

/**
 * Put `section` (its lines, header first) into the config `text` as the profile's only section. An existing
 * one is replaced (with `force`) or refused; every other line stays as it was, and so do the blank and comment
 * lines that end the old section (they introduce the next one). A second section for the same profile is
 * removed too: the SDKs merge duplicates, so its keys would still apply.
 */
export function upsertProfile(
  text: string,
  profile: string,
  section: readonly string[],
  opts: { force: boolean; configFile: string },
): UpsertResult {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text === "" ? [] : text.split(/\r?\n/);
  const endsWithNewline = lines.length > 0 && lines.at(-1) === "";
  if (endsWithNewline) lines.pop();

  const blocks: Array<[number, number]> = [];
  for (let i = 0; i < lines.length; i++) {
    if (profileOfLine(lines[i]!) !== profile) continue;
    let end = i + 1;
    while (end < lines.length && !isHeader(lines[end]!)) end++;
    while (end > i + 1 && isBlankOrComment(lines[end - 1]!)) end--;
    blocks.push([i, end]);
  }
  if (blocks.length > 0 && !opts.force) {
    throw conflict(
      `${opts.configFile} already has the profile "${profile}" (line ${blocks[0]![0] + 1})`,
      `choose another profile name, or replace it with --force`,
    );
  }
  if (blocks.length > 0) {
    for (const [start, end] of blocks.slice(1).reverse()) lines.splice(start, end - start);
    const [start, end] = blocks[0]!;
    lines.splice(start, end - start, ...section);
    return { text: lines.join(eol) + eol, replaced: true };
  }
  const before = lines.length > 0 && lines.at(-1)!.trim() !== "" ? [""] : [];
  return { text: [...lines, ...before, ...section].join(eol) + eol, replaced: false };
}

/**
 * Write the config file: a new one 0600 (its directory 0700 if missing); an existing one replaced whole
 * (a temporary file renamed over it, keeping its mode and following a symlink to the real file), so a
 * crash never leaves half a config.
 */
export function writeConfigFile(path: string, text: string): void {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    return;
  }
  const real = realpathSync(path);
  const mode = statSync(real).mode & 0o777;
  const tmp = `${real}.rekey-${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, text, { mode, flag: "wx" });
    chmodSync(tmp, mode); // the umask may have taken bits off
    renameSync(tmp, real);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}
