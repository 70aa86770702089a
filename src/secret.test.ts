import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import { base64Cores, REDACTED, redactText, Secret, secretForms } from "./secret.js";

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

const KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY EXAMPLE?&=";

/** Every encoding of `s` a program may print, and `s` inside larger base64 blobs at each alignment. */
function encodedForms(s: string): Record<string, string> {
  const bytes = Buffer.from(s, "utf8");
  const blob = (pad: number, encoding: "base64" | "base64url") =>
    Buffer.concat([Buffer.from("xyz".slice(0, pad)), bytes, Buffer.from("tail\n")]).toString(encoding);
  return {
    uriComponent: encodeURIComponent(s),
    formPlus: encodeURIComponent(s).replaceAll("%20", "+"),
    searchParams: new URLSearchParams({ k: s }).toString().slice(2),
    lowerHex: encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    pythonQuote: encodeURIComponent(s).replaceAll("%2F", "/"),
    escapedSlashes: JSON.stringify({ k: s }).replaceAll("/", "\\/"),
    base64: bytes.toString("base64"),
    base64url: bytes.toString("base64url"),
    ...Object.fromEntries(
      [0, 1, 2].flatMap((pad) => [
        [`blob64@${pad}`, blob(pad, "base64")],
        [`blob64url@${pad}`, blob(pad, "base64url")],
      ]),
    ),
  };
}

test("redactText catches URL-encoded, \\/-escaped, base64 and base64url forms, even inside a blob", () => {
  for (const [name, form] of Object.entries(encodedForms(KEY))) {
    const out = redactText(`value: ${form}`, [new Secret(KEY)]);
    assert.ok(out.includes(REDACTED), `${name} redacted: ${out}`);
    // What is left of a blob are at most 2 edge characters each side: never 4 of the secret's own.
    for (const core of base64Cores(Buffer.from(KEY))) assert.ok(!out.includes(core), `${name}: ${out}`);
    assert.ok(!out.includes("EXAMPLE") && !out.includes("wJalr"), `${name}: ${out}`);
  }
});

test("base64Cores: the characters that depend only on the secret, at offsets 0, 1 and 2", () => {
  const bytes = Buffer.from("secret-value");
  const cores = base64Cores(bytes);
  assert.equal(cores.length, 6);
  for (const before of ["", "a", "ab", "abc", "abcd"]) {
    for (const after of ["", "z", "zz"]) {
      const blob = Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
      assert.ok(
        cores.some((c) => blob.toString("base64").includes(c)),
        `base64 of ${before}+secret+${after}`,
      );
      assert.ok(cores.some((c) => blob.toString("base64url").includes(c)));
    }
  }
  assert.deepEqual(secretForms("abc"), secretForms("abc"), "pure");
  assert.deepEqual(base64Cores(Buffer.from("ab")), [], "too short to search");
});
