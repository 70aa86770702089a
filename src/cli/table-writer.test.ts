import assert from "node:assert/strict";
import { test } from "node:test";
import { renderTable } from "./table.js";
import { TableWriter } from "./table-writer.js";

async function written(headers: string[], rows: string[][]): Promise<{ text: string; writes: number }> {
  const t = new TableWriter(headers);
  for (const r of rows) t.add(r);
  const chunks: string[] = [];
  await t.write({ write: (s) => void chunks.push(s), drain: async () => {} });
  return { text: chunks.join(""), writes: chunks.length };
}

test("the same bytes as renderTable: widths from the longest cell, the last column unpadded, escapes", async () => {
  const headers = ["UID", "TYPE", "TITLE", "FOLDER"];
  const rows = [
    ["a", "pamUser", "short", ""],
    ["bbbbbbbbbbbbbbbbbbbbbb", "login", "evil\u001b]0;x\u0007 title", "F"],
    ["c", "pamUser", "", "a folder"],
    ["d", "x"],
  ];
  assert.equal((await written(headers, rows)).text, renderTable(headers, rows));
  assert.equal((await written(headers, [])).text, renderTable(headers, []));
});

test("100,000 rows: written in chunks (renderTable's Math.max(...rows) would overflow the stack at some size)", async () => {
  const rows = Array.from({ length: 100_000 }, (_, i) => [`uid-${i}`, "pamUser", `user ${i}`]);
  const { text, writes } = await written(["UID", "TYPE", "TITLE"], rows);
  assert.ok(writes > 10);
  assert.equal(text.split("\n").length, 100_002);
  assert.equal(text.split("\n")[1], "uid-0      pamUser  user 0");
});
