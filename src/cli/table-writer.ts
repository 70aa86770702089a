/**
 * `renderTable`'s output written in chunks: the same bytes, without one string of the whole table and without
 * spreading every row into Math.max (which overflows the stack past about 100,000 rows). The cells are kept
 * (a column's width depends on its longest cell), the text is not.
 */
import type { Output } from "./context.js";
import { printable } from "./printable.js";

const CHUNK = 64 * 1024;

export class TableWriter {
  readonly #headers: string[];
  readonly #rows: string[][] = [];
  readonly #widths: number[];

  constructor(headers: string[]) {
    this.#headers = headers;
    this.#widths = headers.map((h) => h.length);
  }

  add(cells: string[]): void {
    const row = cells.map((c) => printable(c));
    for (let i = 0; i < this.#widths.length; i++) {
      const len = (row[i] ?? "").length;
      if (len > (this.#widths[i] ?? 0)) this.#widths[i] = len;
    }
    this.#rows.push(row);
  }

  /** Write the table (as renderTable would render it), waiting for the output to drain between chunks. */
  async write(out: Output): Promise<void> {
    const fmt = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(this.#widths[i] ?? 0)))
        .join("  ")
        .trimEnd();
    let buffer = `${fmt(this.#headers)}\n`;
    for (const row of this.#rows) {
      buffer += `${fmt(row)}\n`;
      if (buffer.length >= CHUNK) {
        out.write(buffer);
        buffer = "";
        await out.drain?.();
      }
    }
    out.write(buffer);
    await out.drain?.();
  }
}
