import { printable } from "./printable.js";

/** Plain aligned columns for terminals; each cell on one line, its control characters escaped. */
export function renderTable(headers: string[], cellRows: string[][]): string {
  const rows = cellRows.map((r) => r.map((c) => printable(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[fmt(headers), ...rows.map(fmt)].join("\n")}\n`;
}
