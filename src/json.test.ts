import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "./errors.js";
import { jsonErrorPosition, parseJsonSafely } from "./json.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

function messageOf(text: string): string {
  try {
    parseJsonSafely(text, "the record on stdin");
  } catch (err) {
    assert.ok(err instanceof RekeyError);
    assert.equal(err.kind, "usage");
    assert.equal(err.cause, undefined, "no cause: V8's message quotes the input");
    return err.message;
  }
  assert.fail("parsed");
}

test("parseJsonSafely parses, and its errors give the position, never the input", () => {
  assert.deepEqual(parseJsonSafely('{"a": [1]}', "x"), { a: [1] });
  for (const [text, position] of [
    [`{"aws_secret_access_key": ${SECRET}}`, 26], // "Unexpected token 'w', …" quotes the input
    [`{"aws_secret_access_key": "${SECRET}", oops}`, 70],
    [`["${SECRET}",,1]`, 44],
    [`"${SECRET}" x`, 43],
  ] as const) {
    const message = messageOf(text);
    assert.equal(message, `the record on stdin is not valid JSON at position ${position}`);
    assert.ok(!message.includes("wJalr") && !message.includes("EXAMPLE"), message);
  }
  assert.match(messageOf(`{"secret": "${SECRET}`), /is not valid JSON \(it ends early, at position 52\)$/);
  assert.match(messageOf("  "), /is not valid JSON \(it is empty\)$/);
});

test("jsonErrorPosition: from V8's message, else by bisection", () => {
  assert.equal(
    jsonErrorPosition('{"a":1', "Expected ',' or '}' after property value in JSON at position 6"),
    6,
  );
  assert.equal(jsonErrorPosition("tru", "Unexpected end of JSON input"), 3);
  assert.equal(jsonErrorPosition('{"a":tx}', `Unexpected token 'x', "{"a":tx}" is not valid JSON`), 6);
  assert.equal(jsonErrorPosition("abc", `Unexpected token 'a', "abc" is not valid JSON`), 0);
  assert.equal(jsonErrorPosition("[1,2,,3]", "Unexpected token ','"), 5);
});

test("parseJsonSafely takes the error's kind and hint", () => {
  try {
    parseJsonSafely("{", "history file h.json", { kind: "integrity", hint: "restore it" });
    assert.fail("parsed");
  } catch (err) {
    assert.ok(err instanceof RekeyError);
    assert.equal(err.kind, "integrity");
    assert.equal(err.hint, "restore it");
  }
});
