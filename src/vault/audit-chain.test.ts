import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import {
  type AuditRow,
  canonicalJson,
  checkAuditDetails,
  entryHash,
  genesisHash,
  signHead,
  verifyChain,
} from "./audit-chain.js";
import { randomKey } from "./crypto.js";

test("canonicalJson sorts keys at every level and drops undefined", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }),
    '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}',
  );
  assert.throws(() => canonicalJson({ x: Number.NaN }), RekeyError);
  assert.throws(() => canonicalJson({ x: new Secret("s") }), /secret/);
});

test("checkAuditDetails refuses keys that name a secret, at any depth; labels as values are fine", () => {
  for (const key of [
    "secret",
    "secretAccessKey",
    "aws_secret_access_key",
    "password",
    "Passphrase",
    "privateKey",
    "sessionToken",
  ]) {
    assert.throws(() => checkAuditDetails({ [key]: "x" }), RekeyError, key);
    assert.throws(() => checkAuditDetails({ nested: { [key]: "x" } }), RekeyError, key);
  }
  checkAuditDetails({ accessKeyId: "AKIA...", fieldsChanged: ["aws_secret_access_key"], revision: 2 });
});

function chain(key: Buffer, vaultId: string, n: number): { rows: AuditRow[]; head: string } {
  const rows: AuditRow[] = [];
  let prev = genesisHash(key, vaultId);
  for (let seq = 1; seq <= n; seq++) {
    const body = {
      seq,
      at: `2024-01-0${seq}T00:00:00.000Z`,
      action: "a",
      recordUid: null,
      actor: "t",
      details: { seq },
    };
    prev = entryHash(key, prev, body);
    rows.push({ ...body, details: canonicalJson(body.details), hash: prev });
  }
  return { rows, head: JSON.stringify(signHead(key, n, prev)) };
}

test("verifyChain: intact, edited, deleted (middle and last), inserted, forged head", () => {
  const key = randomKey();
  const { rows, head } = chain(key, "v", 5);
  assert.deepEqual(verifyChain(key, "v", rows, head), { ok: true, entries: 5 });
  assert.equal(verifyChain(randomKey(), "v", rows, head).problem?.seq, 1, "another key cannot verify");

  const edited = rows.map((r) => (r.seq === 3 ? { ...r, actor: "mallory" } : r));
  assert.equal(verifyChain(key, "v", edited, head).problem?.seq, 3);

  const gap = rows.filter((r) => r.seq !== 2);
  assert.equal(verifyChain(key, "v", gap, head).problem?.seq, 2);

  const cut = rows.slice(0, 4);
  const cutResult = verifyChain(key, "v", cut, head);
  assert.equal(cutResult.ok, false);
  assert.equal(cutResult.problem?.seq, 5);

  const extra = [...rows, { ...rows[4]!, seq: 6 }];
  assert.equal(verifyChain(key, "v", extra, head).problem?.seq, 6);

  // An attacker who cuts the tail cannot re-sign the head without the key.
  const forged = JSON.stringify({ count: 4, hash: rows[3]!.hash, mac: "00".repeat(32) });
  assert.equal(verifyChain(key, "v", cut, forged).ok, false);
  assert.equal(verifyChain(key, "v", rows, undefined).ok, false);
});
