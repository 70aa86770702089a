import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IdFactory, newSecretAccessKey, newSessionToken, seededRng } from "./random.js";

describe("random", () => {
  it("a seed reproduces the same ids", () => {
    const a = new IdFactory(seededRng(42));
    const b = new IdFactory(seededRng(42));
    const c = new IdFactory(seededRng(43));
    const draw = (f: IdFactory) => [f.accessKeyId(), f.userId(), f.requestId()];
    const first = draw(a);
    assert.deepEqual(first, draw(b));
    assert.notDeepEqual(first, draw(c));
  });

  it("ids have AWS's shapes", () => {
    const f = new IdFactory(seededRng(1));
    assert.match(f.accessKeyId(), /^AKIA[A-Z2-7]{16}$/);
    assert.match(f.sessionAccessKeyId(), /^ASIA[A-Z2-7]{16}$/);
    assert.match(f.userId(), /^AIDA[A-Z2-7]{17}$/);
    assert.match(f.roleId(), /^AROA[A-Z2-7]{17}$/);
    assert.match(f.policyId(), /^ANPA[A-Z2-7]{17}$/);
    assert.match(f.accountId(), /^[1-9]\d{11}$/);
    assert.match(f.requestId(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("draws are uniform enough in [0, 1)", () => {
    const rng = seededRng(7);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = rng();
      assert.ok(x >= 0 && x < 1);
      sum += x;
    }
    assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
  });

  it("secrets are 40 characters and never repeat", () => {
    const a = newSecretAccessKey();
    assert.match(a, /^[A-Za-z0-9+/]{40}$/);
    assert.notEqual(a, newSecretAccessKey());
    assert.ok(newSessionToken().length > 300);
  });
});
