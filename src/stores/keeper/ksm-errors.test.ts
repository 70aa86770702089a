import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeeperThrottleError } from "@keeper-security/secrets-manager-core";
import { type ErrorKind, RekeyError } from "../../errors.js";
import { isRevisionConflict, mapKsmError, parseKsmErrorBody } from "./ksm-errors.js";

const body = (o: Record<string, unknown>) => new Error(JSON.stringify(o));
const sys = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe("mapKsmError", () => {
  const cases: Array<[string, unknown, ErrorKind, RegExp]> = [
    [
      "invalid_revision",
      body({ result_code: "invalid_revision", message: "out of date" }),
      "conflict",
      /changed since it was read/,
    ],
    [
      "out_of_sync",
      body({ error: "out_of_sync", message: "Record is out of sync" }),
      "conflict",
      /changed since/,
    ],
    [
      "revision in the message only",
      body({ error: "bad_request", message: "stale revision" }),
      "conflict",
      /changed since/,
    ],
    [
      "access_denied",
      body({ error: "access_denied", message: "Signature is invalid" }),
      "auth",
      /denied .*Signature is invalid/,
    ],
    ["server key", body({ error: "key", key_id: 7 }), "auth", /denied/],
    [
      "other Keeper error",
      body({ error: "boom", message: "injected" }),
      "internal",
      /refused saving X: boom: injected/,
    ],
    ["throttled out", new KeeperThrottleError("exhausted"), "internal", /throttled saving X/],
    [
      "network",
      sys("ECONNREFUSED"),
      "internal",
      /cannot reach Keeper at host.example while saving X \(ECONNREFUSED\)/,
    ],
    ["TLS", sys("SELF_SIGNED_CERT_IN_CHAIN"), "auth", /TLS certificate of host.example/],
    ["SDK key cache", new Error("Unable to load the key abc"), "internal", /no key to decrypt or encrypt/],
    [
      "SDK config",
      new Error("hostname is missing from the configuration"),
      "usage",
      /KSM config is incomplete/,
    ],
    ["anything else", new Error("weird"), "internal", /failed while saving X: weird/],
  ];
  for (const [name, err, kind, re] of cases) {
    test(`${name} → ${kind}`, () => {
      const mapped = mapKsmError(err, "saving X", "host.example");
      assert.equal(mapped.kind, kind);
      assert.match(mapped.message, re);
      assert.equal(mapped.cause, err);
    });
  }

  test("a RekeyError passes through", () => {
    const e = new RekeyError("conflict", "x");
    assert.equal(mapKsmError(e, "y"), e);
  });

  test("parseKsmErrorBody prefers result_code, falls back to additional_info", () => {
    assert.deepEqual(parseKsmErrorBody(body({ result_code: "a", error: "b", additional_info: "i" })), {
      code: "a",
      message: "i",
    });
    assert.equal(parseKsmErrorBody(new Error("Bad Gateway")), undefined);
    assert.equal(isRevisionConflict(body({ error: "out_of_sync" })), true);
    assert.equal(isRevisionConflict(body({ error: "access_denied" })), false);
  });
});
