import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdFactory, seededRng } from "./random.js";
import { applyDocument, snapshotState } from "./snapshot.js";
import { SandboxState } from "./state.js";

const ALLOW_ALL = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
});

function fresh() {
  const state = new SandboxState(new IdFactory(seededRng(1)), () => 1_700_000_000_000);
  return { state, account: state.addAccount("123456789012") };
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return `${(e as { code?: string }).code} ${(e as { status?: number }).status}: ${(e as Error).message}`;
  }
  return "ok";
};

describe("SandboxState", () => {
  it("allows 2 keys per user, Inactive ones counting", () => {
    const { state, account } = fresh();
    const alice = state.createUser(account, "alice");
    const k1 = state.createAccessKey(account, alice);
    state.updateAccessKey(k1, "Inactive");
    state.createAccessKey(account, alice);
    assert.equal(
      code(() => state.createAccessKey(account, alice)),
      "LimitExceeded 409: Cannot exceed quota for AccessKeysPerUser: 2",
    );
    state.deleteAccessKey(account, k1);
    assert.equal(state.findKey(k1.accessKeyId), undefined);
    assert.equal(
      code(() => state.createAccessKey(account, alice)),
      "ok",
    );
  });

  it("names are unique case-insensitively and found case-insensitively", () => {
    const { state, account } = fresh();
    state.createUser(account, "Alice");
    assert.equal(
      code(() => state.createUser(account, "alice")),
      "EntityAlreadyExists 409: User with name alice already exists.",
    );
    assert.equal(state.getUser(account, "ALICE").userName, "Alice");
    assert.equal(
      code(() => state.getUser(account, "bob")),
      "NoSuchEntity 404: The user with name bob cannot be found.",
    );
  });

  it("a user with keys or policies cannot be deleted; a re-created user gets a new UserId", () => {
    const { state, account } = fresh();
    const u = state.createUser(account, "u");
    const key = state.createAccessKey(account, u);
    assert.equal(
      code(() => state.deleteUser(account, "u")),
      "DeleteConflict 409: Cannot delete entity, must delete access keys first.",
    );
    state.deleteAccessKey(account, key);
    state.putInlinePolicy(u, "p", ALLOW_ALL);
    assert.equal(
      code(() => state.deleteUser(account, "u")),
      "DeleteConflict 409: Cannot delete entity, must delete policies first.",
    );
    state.deleteInlinePolicy(u, "p");
    state.attachPolicy(account, u, "arn:aws:iam::aws:policy/AdministratorAccess");
    assert.equal(
      code(() => state.deleteUser(account, "u")),
      "DeleteConflict 409: Cannot delete entity, must detach all policies first.",
    );
    state.detachPolicy(u, "arn:aws:iam::aws:policy/AdministratorAccess");
    state.deleteUser(account, "u");
    assert.notEqual(state.createUser(account, "u").userId, u.userId);
  });

  it("a key belongs to one user only", () => {
    const { state, account } = fresh();
    const a = state.createUser(account, "a");
    const b = state.createUser(account, "b");
    const k = state.createAccessKey(account, a);
    assert.equal(
      code(() => state.ownedKey(account, b, k.accessKeyId)),
      `NoSuchEntity 404: The Access Key with id ${k.accessKeyId} cannot be found.`,
    );
    assert.equal(state.ownedKey(account, a, k.accessKeyId), k);
  });

  it("refuses unknown policies and a malformed document", () => {
    const { state, account } = fresh();
    const u = state.createUser(account, "u");
    assert.equal(
      code(() => state.attachPolicy(account, u, "arn:aws:iam::123456789012:policy/none")),
      "NoSuchEntity 404: Policy arn:aws:iam::123456789012:policy/none does not exist or is not attachable.",
    );
    assert.match(
      code(() => state.putInlinePolicy(u, "p", "{")),
      /^MalformedPolicyDocument 400/,
    );
    assert.match(
      code(() => state.createPolicy(account, "P", ALLOW_ALL)),
      /^ok$/,
    );
    assert.match(
      code(() => state.createPolicy(account, "p", ALLOW_ALL)),
      /^EntityAlreadyExists 409: A policy called p already exists/,
    );
  });

  it("a seed that would fail halfway changes nothing", () => {
    const { state, account } = fresh();
    state.createUser(account, "taken");
    assert.throws(
      () => applyDocument(state, { users: [{ name: "new" }, { name: "taken" }] }, "123456789012"),
      { code: "EntityAlreadyExists" },
    );
    assert.throws(
      () => applyDocument(state, { users: [{ name: "n2", attachedPolicies: ["missing"] }] }, "123456789012"),
      { code: "NoSuchEntity" },
    );
    assert.deepEqual([...account.users.keys()], ["taken"]);
  });

  it("a snapshot with secrets re-applies to an identical state", () => {
    const { state, account } = fresh();
    const arn = state.createPolicy(account, "P", ALLOW_ALL).arn;
    const u = state.createUser(account, "u", "/team/");
    state.createAccessKey(account, u, { status: "Inactive" });
    state.createAccessKey(account, null);
    state.attachPolicy(account, u, arn);
    state.putInlinePolicy(u, "inline", ALLOW_ALL);
    state.createRole(
      account,
      "r",
      JSON.stringify({
        Statement: { Effect: "Allow", Principal: { AWS: "123456789012" }, Action: "sts:AssumeRole" },
      }),
    );
    const doc = snapshotState(state, { secrets: true });
    const copy = new SandboxState(new IdFactory(seededRng(2)), state.now);
    applyDocument(copy, doc, "123456789012");
    assert.deepEqual(snapshotState(copy, { secrets: true }), doc);
    const withoutSecrets = JSON.stringify(snapshotState(state, { secrets: false }));
    assert.ok(!withoutSecrets.includes(u.accessKeys[0]!.secretAccessKey));
  });
});
