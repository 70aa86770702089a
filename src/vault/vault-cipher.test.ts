import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { Secret } from "../secret.js";
import { randomKey } from "./crypto.js";
import { newRecord, setFieldValue } from "./record.js";
import { toJsonBytes, VaultCipher, type VersionMeta } from "./vault-cipher.js";

const meta: VersionMeta = {
  uid: "AAAAAAAAAAAAAAAAAAAAAA",
  revision: 3,
  folderUid: null,
  savedAt: "2024-01-01T00:00:00.000Z",
  actor: "rekey rotate",
  deleted: false,
};

test("a record version opens only with its own metadata: every clear column is bound", () => {
  const c = new VaultCipher(randomKey());
  const r = newRecord("pamUser", "alice");
  setFieldValue(r, "aws_secret_access_key", "S3CR3T", { type: "secret" });
  const sealed = c.sealRecord(meta, r);
  assert.equal(sealed.body.includes(Buffer.from("S3CR3T")), false);
  assert.deepEqual(c.openRecord(meta, sealed), r);
  const changes: Array<Partial<VersionMeta>> = [
    { uid: "BAAAAAAAAAAAAAAAAAAAAA" },
    { revision: 2 },
    { folderUid: "F" },
    { savedAt: "2024-01-02T00:00:00.000Z" },
    { actor: "mallory" },
    { deleted: true },
  ];
  for (const change of changes) {
    assert.throws(
      () => c.openRecord({ ...meta, ...change }, sealed),
      (err: unknown) => err instanceof RekeyError && err.kind === "integrity",
      JSON.stringify(change),
    );
  }
  assert.throws(
    () => new VaultCipher(randomKey()).openRecord(meta, sealed),
    RekeyError,
    "another vault's key",
  );
});

test("journal state and folder names are sealed and bound the same way", () => {
  const c = new VaultCipher(randomKey());
  const jm = { id: "j", recordUid: "R", kind: "rotation", createdAt: "a", updatedAt: "b" };
  const sealed = c.sealJournal(jm, toJsonBytes({ secret: "x" }, "j"));
  assert.deepEqual(c.openJournal(jm, sealed), { secret: "x" });
  assert.throws(() => c.openJournal({ ...jm, recordUid: "R2" }, sealed), RekeyError);
  const fm = { uid: "F", parentUid: null, shared: true, createdAt: "t" };
  const name = c.sealFolderName(fm, "Finance");
  assert.equal(c.openFolderName(fm, name), "Finance");
  assert.throws(() => c.openFolderName({ ...fm, shared: false }, name), RekeyError);
});

test("the title index is deterministic per vault and unrelated across vaults", () => {
  const vmk = randomKey();
  const a = new VaultCipher(Buffer.from(vmk));
  const b = new VaultCipher(Buffer.from(vmk));
  assert.deepEqual(a.titleMac("alice"), b.titleMac("alice"));
  assert.notDeepEqual(a.titleMac("alice"), a.titleMac("Alice"));
  assert.notDeepEqual(a.titleMac("alice"), new VaultCipher(randomKey()).titleMac("alice"));
  a.destroy();
  assert.ok(a.vmk.equals(Buffer.alloc(32)), "destroy zeroizes the master key");
});

test("toJsonBytes refuses Secret objects anywhere (they would be stored as [REDACTED])", () => {
  assert.throws(
    () => toJsonBytes({ a: [{ b: new Secret("x") }] }, "record R"),
    /record R holds a Secret object/,
  );
  assert.equal(toJsonBytes({ a: 1 }, "x").toString(), '{"a":1}');
});
