import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { aad, deriveKey, open, randomKey, seal, unwrapKey, wrapKey } from "./crypto.js";

const isIntegrity = (what: string) => (err: unknown) =>
  err instanceof RekeyError && err.kind === "integrity" && err.message.includes(what);

test("seal/open round-trips and the blob is version|iv|ct|tag with a fresh IV", () => {
  const key = randomKey();
  const a = seal(key, Buffer.from("hello"), "ctx");
  const b = seal(key, Buffer.from("hello"), "ctx");
  assert.equal(a.length, 1 + 12 + 5 + 16);
  assert.equal(a[0], 1);
  assert.notDeepEqual(a, b, "same plaintext, different IVs");
  assert.equal(open(key, a, "ctx", "thing").toString(), "hello");
});

test("open refuses a flipped bit, another AAD, another key, a truncated blob: integrity error naming the object", () => {
  const key = randomKey();
  const blob = seal(key, Buffer.from("secret value"), aad("record", "uid1", 1));
  for (let i = 0; i < blob.length; i++) {
    const bad = Buffer.from(blob);
    bad[i] = bad[i]! ^ 0x01;
    assert.throws(() => open(key, bad, aad("record", "uid1", 1), "record uid1"), isIntegrity("record uid1"));
  }
  assert.throws(
    () => open(key, blob, aad("record", "uid1", 2), "record uid1 revision 2"),
    isIntegrity("revision 2"),
  );
  assert.throws(() => open(randomKey(), blob, aad("record", "uid1", 1), "x"), isIntegrity("x"));
  assert.throws(() => open(key, blob.subarray(0, 20), aad("record", "uid1", 1), "x"), isIntegrity("x"));
});

test("aad parts cannot run into each other", () => {
  assert.notEqual(aad("a|b", "c"), aad("a", "b|c"));
  assert.notEqual(aad("1", 1), aad(1, "1"));
});

test("wrapKey/unwrapKey: a data key under a KEK, bound to its AAD", () => {
  const kek = randomKey();
  const dek = randomKey();
  const wrapped = wrapKey(kek, dek, "dek:1");
  assert.deepEqual(unwrapKey(kek, wrapped, "dek:1", "dek"), dek);
  assert.throws(() => unwrapKey(kek, wrapped, "dek:2", "data key 2"), isIntegrity("data key 2"));
  assert.throws(() => wrapKey(kek, Buffer.alloc(16), "x"), RangeError);
});

test("deriveKey gives independent purpose-bound keys", () => {
  const ikm = randomKey();
  assert.equal(deriveKey(ikm, "a").length, 32);
  assert.deepEqual(deriveKey(ikm, "a"), deriveKey(ikm, "a"));
  assert.notDeepEqual(deriveKey(ikm, "a"), deriveKey(ikm, "b"));
});
