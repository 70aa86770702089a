/**
 * Text from the vault or from a script (record titles, field values, file names, script output,
 * error messages quoting them) is shown on a terminal, and a terminal obeys the control sequences in
 * what it prints: `ESC ] 0 ; … BEL` retitles the window, `ESC [ 2 J` clears the screen, an OSC 8
 * sequence makes a link, `\r` overwrites a line. Whoever can name a record (a shared Keeper folder, an
 * imported CSV) or write a script's output could forge or hide what rekey prints. So every non-JSON
 * output goes through `printable`, which shows each control character as a visible escape.
 *
 * JSON output needs nothing: JSON.stringify escapes C0 controls itself, and the `\uXXXX` escapes used
 * here for the others are valid inside a JSON string, so `printable` may safely run over it too.
 */

export interface PrintableOptions {
  /** Keep newlines and tabs (a multi-line value: notes, script output, a whole rendered block). */
  multiline?: boolean;
}

// \p{Cc}: C0 controls, DEL and C1 controls (U+009B alone is a CSI); then the line and paragraph
// separators, and the bidirectional overrides and isolates (text that reads reversed).
const CONTROL_RE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `text` with every control character replaced by a visible escape: `\x1b` for C0 controls,
 * `\u009b` for the others; with `multiline`, newlines and tabs are kept.
 * @example printable("evil\u001b]0;pwned\u0007") // "evil\\x1b]0;pwned\\x07"
 */
export function printable(text: string, { multiline = false }: PrintableOptions = {}): string {
  return text.replace(CONTROL_RE, (c) => {
    if (multiline && (c === "\n" || c === "\t")) return c;
    const code = c.charCodeAt(0);
    return code < 0x20 ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
  });
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, "0");
}
