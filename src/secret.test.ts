import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { REDACTED, redactText, Secret } from "./secret.js";

test("a Secret never prints its value", () => {
  const s = new Secret("wJalrXUtnFEMI/K7MDENG");
  assert.equal(String(s), REDACTED);
  assert.equal(JSON.stringify({ s }), `{"s":"${REDACTED}"}`);
  assert.ok(!inspect({ s }).includes("wJalr"));
  assert.ok(!`${s}`.includes("wJalr"));
  assert.equal(s.reveal(), "wJalrXUtnFEMI/K7MDENG");
});

test("redactText replaces every known secret", () => {
  const out = redactText("key=abcd1234 again abcd1234", [new Secret("abcd1234"), undefined, "zz"]);
  assert.equal(out, `key=${REDACTED} again ${REDACTED}`);
});
