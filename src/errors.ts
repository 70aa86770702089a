/**
 * rekey's few typed errors. Every message names its subject (record, user, key id, file) and what the
 * user can do about it (`hint`). Exit codes are mapped here and only here.
 */

export type ErrorKind =
  | "usage" // bad arguments or input the user can fix
  | "not-found" // unknown record, user, key, file
  | "conflict" // stale revision, ambiguous title, already exists, lock held
  | "auth" // wrong passphrase, locked vault, AWS credentials refused / access denied
  | "integrity" // tampered or corrupted data, broken audit chain
  | "aws" // AWS answered with an error we do not map to the above
  | "delivery" // the key was rotated, but a post-rotation script (its delivery) failed
  | "violation" // a compliance check found a violation (`rekey report --fail-on-violation`, for CI jobs)
  | "interrupted" // Ctrl-C / SIGTERM: stopped after finishing or undoing the step in flight
  | "internal";

const EXIT_CODES: Record<ErrorKind, number> = {
  usage: 2,
  "not-found": 3,
  conflict: 4,
  auth: 5,
  integrity: 6,
  aws: 7,
  delivery: 8,
  violation: 9,
  interrupted: 130,
  internal: 1,
};

export interface RekeyErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable details (never secrets). */
  details?: Record<string, unknown>;
}

export class RekeyError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, options: RekeyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RekeyError";
    this.kind = kind;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export const usageError = (message: string, hint?: string) => new RekeyError("usage", message, { hint });
export const notFound = (message: string, hint?: string) => new RekeyError("not-found", message, { hint });
export const conflict = (message: string, hint?: string) => new RekeyError("conflict", message, { hint });
export const integrityError = (message: string, hint?: string, cause?: unknown) =>
  new RekeyError("integrity", message, { hint, cause });

export function exitCodeOf(err: unknown): number {
  return err instanceof RekeyError ? err.exitCode : EXIT_CODES.internal;
}

/** One line for a terminal: "rekey: <message>\n  hint: <hint>". */
export function formatError(err: unknown): string {
  if (err instanceof RekeyError) {
    return err.hint ? `rekey: ${err.message}\n  fix: ${err.hint}` : `rekey: ${err.message}`;
  }
  // V8's JSON.parse messages quote the input, which may be decrypted vault data: keep the position only.
  // (Input a user gives goes through parseJsonSafely in json.ts; this is the net for everything else.)
  if (err instanceof SyntaxError && /JSON/.test(err.message)) {
    const at = /at position (\d+)/.exec(err.message)?.[1];
    return `rekey: internal error: invalid JSON${at === undefined ? "" : ` at position ${at}`}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `rekey: internal error: ${message}`;
}
