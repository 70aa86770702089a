import assert from "node:assert/strict";
import { test } from "node:test";
import { printable } from "./printable.js";

test("printable escapes every control character, visibly", () => {
  for (const [raw, shown] of [
    ["evil\u001b]0;pwned\u0007", "evil\\x1b]0;pwned\\x07"],
    ["\u001b[2J\u001b[31mred", "\\x1b[2J\\x1b[31mred"],
    ["csi\u009b31m", "csi\\u009b31m"],
    ["del\u007f nul\u0000 cr\r", "del\\u007f nul\\x00 cr\\x0d"],
    ["a\nb\tc", "a\\x0ab\\x09c"],
    ["abc\u202etxt.exe", "abc\\u202etxt.exe"],
    ["plain ünïcödé → ok", "plain ünïcödé → ok"],
  ] as const) {
    assert.equal(printable(raw), shown);
  }
});

test("printable keeps newlines and tabs in multi-line text, nothing else", () => {
  assert.equal(
    printable("line 1\n\tline 2\r\n\u001b[1A", { multiline: true }),
    "line 1\n\tline 2\\x0d\n\\x1b[1A",
  );
});

test("printable leaves JSON valid and meaning the same", () => {
  const value = { title: "t\u009b\u202e\u007f\u001b" };
  const json = JSON.stringify(value, null, 2);
  assert.deepEqual(JSON.parse(printable(json, { multiline: true })), value);
});
