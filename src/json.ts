/**
 * JSON parsing whose errors never quote the input. V8's `JSON.parse` messages do
 * (`Unexpected token 'a', "{"aws_secret_access_key": abc…" is not valid JSON`), and what rekey
 * parses holds secrets: records on stdin, schedules, config files, script parameters, state files.
 * Every `JSON.parse` whose failure can reach a user goes through `parseJsonSafely`, which reports
 * only where the text went wrong.
 */
import { type ErrorKind, RekeyError } from "./errors.js";

export interface ParseJsonOptions {
  /** The error's kind (default "usage": input the user can fix). */
  kind?: ErrorKind;
  hint?: string;
}

/**
 * `JSON.parse(text)`, or a RekeyError "`what` is not valid JSON at position N" (N counted in UTF-16
 * code units from 0, as V8 counts). The parser's own message is dropped, and not kept as `cause`
 * either: a cause may be logged.
 * @example parseJsonSafely('{"a": x}', "stdin") // throws: stdin is not valid JSON at position 6
 */
export function parseJsonSafely(text: string, what: string, opts: ParseJsonOptions = {}): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const position = jsonErrorPosition(text, err instanceof Error ? err.message : "");
    return fail(`${what} is not valid JSON ${describePosition(text, position)}`, opts);
  }
}

function fail(message: string, { kind = "usage", hint }: ParseJsonOptions): never {
  throw new RekeyError(kind, message, hint === undefined ? {} : { hint });
}

function describePosition(text: string, position: number): string {
  if (text.trim() === "") return "(it is empty)";
  if (position >= text.length) return `(it ends early, at position ${text.length})`;
  return `at position ${position}`;
}

const POSITION_RE = /at position (\d+)/;
const END_RE = /Unexpected end of JSON input/;

/**
 * Where `text` stops being JSON. Most V8 messages give the position; "Unexpected token 'x', "…" is
 * not valid JSON" gives the input instead, so the position is found by bisection: a prefix that ends
 * before the bad character fails only because it ends (or parses), one that includes it fails there.
 */
export function jsonErrorPosition(text: string, message: string): number {
  const given = POSITION_RE.exec(message);
  if (given) return Number(given[1]);
  if (END_RE.test(message)) return text.length;
  let ok = 0;
  let bad = text.length;
  while (bad - ok > 1) {
    const mid = (ok + bad) >> 1;
    if (failsBeforeItsEnd(text.slice(0, mid))) bad = mid;
    else ok = mid;
  }
  return bad - 1;
}

function failsBeforeItsEnd(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return false;
  } catch (err) {
    const message = err instanceof Error ? err.message : "";
    const at = POSITION_RE.exec(message);
    if (at) return Number(at[1]) < prefix.length;
    return !END_RE.test(message);
  }
}
