/**
 * API tokens: named bearer tokens, checked in constant time. The name is what the audit log records as
 * the actor of a state-changing call; the token itself is a Secret (never logged, never echoed).
 *
 * Sources: `token` (one token, named "api": REKEY_API_TOKEN), `tokens` (name → token), or `tokenFile`:
 * one `NAME:TOKEN` per line (blank lines and `#` comments skipped), or a single bare token (named "api").
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { usageError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Secret } from "../secret.js";

/** Shorter tokens are refused: a bearer token is the API's only lock. */
export const MIN_TOKEN_LENGTH = 16;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export interface ApiToken {
  name: string;
  /** sha256 of the token: compared digest to digest, so lengths never differ and never leak. */
  digest: Buffer;
}

export interface TokenSources {
  token?: string | Secret | undefined;
  tokens?: Record<string, string | Secret> | undefined;
  tokenFile?: string | undefined;
}

const digestOf = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** Every configured token; throws a usage error when there is none or one is unusable. */
export function loadTokens(src: TokenSources, logger?: Logger): ApiToken[] {
  const pairs: Array<[string, string]> = [];
  if (src.token !== undefined) pairs.push(["api", reveal(src.token)]);
  for (const [name, t] of Object.entries(src.tokens ?? {})) pairs.push([name, reveal(t)]);
  if (src.tokenFile !== undefined) pairs.push(...readTokenFile(src.tokenFile, logger));
  if (pairs.length === 0) {
    throw usageError(
      "the HTTP API needs a bearer token",
      "set REKEY_API_TOKEN, or give a token file (lines NAME:TOKEN); make one with: openssl rand -base64 32",
    );
  }
  const seen = new Set<string>();
  return pairs.map(([name, value]) => {
    if (!NAME.test(name))
      throw usageError(`API token name "${name}" is not valid`, "use letters, digits, _ . @ - (max 64)");
    if (seen.has(name))
      throw usageError(`API token name "${name}" is given twice`, "give each token its own name");
    seen.add(name);
    if (value.length < MIN_TOKEN_LENGTH)
      throw usageError(
        `API token "${name}" is shorter than ${MIN_TOKEN_LENGTH} characters`,
        "use a random token: openssl rand -base64 32",
      );
    return { name, digest: digestOf(value) };
  });
}

function reveal(t: string | Secret): string {
  return typeof t === "string" ? t : t.reveal();
}

function readTokenFile(path: string, logger?: Logger): Array<[string, string]> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
    // Like ssh with its keys: say so when others can read it (a warning, not a refusal: containers often mount 0644).
    if ((statSync(path).mode & 0o077) !== 0)
      logger?.warn({ tokenFile: path }, "the API token file is readable by others; chmod 600 it");
  } catch (err) {
    throw usageError(
      `cannot read the API token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "check the path and that this user may read it",
    );
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  if (lines.length === 1 && !lines[0]!.includes(":")) return [["api", lines[0]!]];
  return lines.map((l, i) => {
    const at = l.indexOf(":");
    if (at <= 0)
      throw usageError(
        `API token file ${path}, line ${i + 1}: not NAME:TOKEN`,
        "write one NAME:TOKEN per line",
      );
    return [l.slice(0, at).trim(), l.slice(at + 1).trim()];
  });
}

/** The value of an `Authorization: Bearer …` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/**
 * The name of the token that `presented` is, or undefined. Every configured token is compared (no early
 * exit), each as a sha256 digest with timingSafeEqual: the time taken says nothing about which one matched
 * or how much of it did.
 */
export function matchToken(
  tokens: readonly ApiToken[],
  presented: string | undefined,
  compare: (a: Buffer, b: Buffer) => boolean = timingSafeEqual,
): string | undefined {
  if (presented === undefined) return undefined;
  const digest = digestOf(presented);
  let found: string | undefined;
  for (const t of tokens) {
    if (compare(t.digest, digest) && found === undefined) found = t.name;
  }
  return found;
}
