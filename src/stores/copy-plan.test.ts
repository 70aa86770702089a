/** The copy's pure decisions: which targets are refused (and with --force), and the row comparison. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { checkSourceLeases, checkTarget, type TargetState } from "./copy-plan.js";
import type { VaultRows } from "./copy-rows.js";
import { rowDifference } from "./copy-verify.js";

const lease = { recordUid: "r", owner: "gw@host:1:ab", expiresAt: "2030-01-01T00:00:00.000Z" };
const vault = (over: Partial<Extract<TargetState, { kind: "vault" }>> = {}): TargetState => ({
  kind: "vault",
  vaultId: "V",
  records: 0,
  leases: [],
  ...over,
});

test("checkTarget: what may receive the copy, with and without --force", () => {
  const cases: Array<[string, TargetState, boolean, string | undefined]> = [
    ["nothing there", { kind: "empty" }, false, undefined],
    ["the same vault, no records", vault(), false, undefined],
    ["the same vault with records", vault({ records: 2 }), false, "already holds this vault"],
    ["the same vault with records, --force", vault({ records: 2 }), true, undefined],
    ["a different vault", vault({ vaultId: "W" }), false, "different rekey vault"],
    ["a different vault, --force", vault({ vaultId: "W" }), true, "different rekey vault"],
    ["the same vault in use, --force", vault({ records: 1, leases: [lease] }), true, "is in use"],
    ["not a vault", { kind: "not-a-vault", why: "a text file" }, true, "is not a rekey vault"],
  ];
  for (const [name, state, force, refused] of cases) {
    const run = () => checkTarget(state, { vaultId: "V" }, "T", { force });
    if (refused === undefined) assert.doesNotThrow(run, name);
    else
      assert.throws(
        run,
        (e: unknown) => e instanceof RekeyError && e.kind === "conflict" && e.message.includes(refused),
        name,
      );
  }
});

test("checkSourceLeases: a held lease refuses the copy (exit 4) and says to stop the gateway", () => {
  assert.doesNotThrow(() => checkSourceLeases([], "S"));
  assert.throws(
    () => checkSourceLeases([lease], "S"),
    (e: unknown) => e instanceof RekeyError && e.exitCode === 4 && /stop the gateway/.test(e.hint ?? ""),
  );
});

test("rowDifference: byte-identical rows, the source's audit log as the copy's first entries", () => {
  const rows = (): VaultRows => ({
    meta: { vaultId: "V", createdAt: "t", keySlots: "[]", auditHead: "{}" },
    folders: [],
    records: [
      { uid: "u", revision: 2, titleMac: Buffer.from("m"), createdAt: "t", rowMac: Buffer.from("r") },
    ],
    versions: [],
    audit: [{ seq: 1, at: "t", action: "vault.init", recordUid: null, actor: "a", details: "{}", hash: "h" }],
    journal: [],
    history: [],
    leases: [],
  });
  const copy = rows();
  copy.audit.push({ ...copy.audit[0]!, seq: 2, action: "vault.copy", hash: "h2" });
  assert.equal(rowDifference(rows(), copy), undefined);
  const flipped = rows();
  flipped.records[0]!.rowMac = Buffer.from("x");
  assert.match(rowDifference(rows(), flipped) ?? "", /records row 1 \(record u revision 2\)/);
  const short = rows();
  short.audit = [];
  assert.match(rowDifference(rows(), short) ?? "", /the audit log/);
  const other = rows();
  other.meta.keySlots = "[1]";
  assert.equal(rowDifference(rows(), other), "the key slots");
});
