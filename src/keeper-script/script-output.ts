/**
 * The small, dependency-free part of the Gateway script: constants and the error format. The bundle's entry
 * loads only this (and the stdin parser) before it knows the input is good.
 */
import { RekeyError } from "../errors.js";

export const SCRIPT_ACTOR = "rekey keeper-script";

/** How long the script waits for the Gateway's line on stdin. */
export const STDIN_TIMEOUT_MS = 30_000;

/**
 * An error as the script prints it. Bad input is one line (message and fix); other errors keep the CLI's
 * shape (`rekey: message`, then `  fix: hint`).
 */
export function formatScriptError(err: unknown): string {
  if (err instanceof RekeyError) {
    if (err.kind === "usage" && !err.message.includes("\n")) {
      return err.hint ? `rekey: ${err.message}; fix: ${err.hint}` : `rekey: ${err.message}`;
    }
    return err.hint ? `rekey: ${err.message}\n  fix: ${err.hint}` : `rekey: ${err.message}`;
  }
  return `rekey: internal error: ${err instanceof Error ? err.message : String(err)}`;
}
