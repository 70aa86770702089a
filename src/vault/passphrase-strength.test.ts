import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { assertStrongPassphrase, passphraseWeakness } from "./passphrase-strength.js";

test("passphraseWeakness: length, one repeated character, only digits, common passwords", () => {
  const cases: Array<[string, RegExp | undefined]> = [
    ["", /shorter than 12/],
    ["hunter2", /shorter than 12/],
    ["éééééééééé", /shorter than 12/], // characters, not bytes
    ["zzzzzzzzzzzzzzzzzzzz", /repeated/],
    ["000000000000", /repeated/],
    ["314159265358979", /only digits/],
    ["PasswordPassword", /common/],
    ["1q2w3e4r5t6y", /common/],
    ["correct horse battery staple", undefined],
    ["tr0ub4dor&3-extended", undefined],
    ["ünïcødé pässphråse", undefined],
  ];
  for (const [p, want] of cases) {
    const got = passphraseWeakness(p);
    if (want === undefined) assert.equal(got, undefined, p);
    else assert.match(got ?? "(passes)", want, p);
  }
});

test("assertStrongPassphrase: a usage error naming the vault, never the passphrase", () => {
  assert.throws(
    () => assertStrongPassphrase(new Secret("letmein"), "the new vault /v.db"),
    (err: unknown) =>
      err instanceof RekeyError &&
      err.kind === "usage" &&
      err.message ===
        "the passphrase for the new vault /v.db is too weak: it is shorter than 12 characters" &&
      !`${err.message}${err.hint}`.includes("letmein"),
  );
  assertStrongPassphrase(new Secret("correct horse battery staple"), "x");
});
