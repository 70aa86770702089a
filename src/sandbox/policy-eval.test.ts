import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Condition,
  conditionHolds,
  type Decision,
  evaluatePolicies,
  evaluateTrust,
  parsePolicy,
  wildcardMatch,
} from "./policy-eval.js";

const ctx = (entries: Record<string, string> = {}) =>
  new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v]));

describe("wildcardMatch", () => {
  const cases: Array<[string, string, boolean, boolean]> = [
    // pattern, value, ignoreCase, expected
    ["*", "anything", false, true],
    ["iam:*", "iam:CreateAccessKey", true, true],
    ["iam:*AccessKey*", "iam:CreateAccessKey", true, true],
    ["iam:*accesskey", "iam:CreateAccessKey", true, true],
    ["iam:*accesskey", "iam:CreateAccessKey", false, false],
    ["iam:List?", "iam:ListX", true, true],
    ["iam:List?", "iam:List", true, false],
    ["arn:aws:iam::*:user/*", "arn:aws:iam::123456789012:user/alice", false, true],
    ["arn:aws:iam::*:user/*", "arn:aws:iam::123456789012:role/alice", false, false],
    ["arn:aws:iam::123456789012:user/a.b", "arn:aws:iam::123456789012:user/aXb", false, false],
    ["arn:aws:iam::*:user/(x)+", "arn:aws:iam::1:user/(x)+", false, true],
  ];
  for (const [pattern, value, ignoreCase, want] of cases) {
    it(`${pattern} ${want ? "matches" : "does not match"} ${value}${ignoreCase ? " (ignoring case)" : ""}`, () =>
      assert.equal(wildcardMatch(pattern, value, ignoreCase), want));
  }

  it("substitutes policy variables literally; an unknown variable matches nothing", () => {
    const vars = ctx({ "aws:username": "alice" });
    assert.equal(
      wildcardMatch(`arn:aws:iam::*:user/\${aws:username}`, "arn:aws:iam::1:user/alice", false, vars),
      true,
    );
    assert.equal(
      wildcardMatch(`arn:aws:iam::*:user/\${aws:username}`, "arn:aws:iam::1:user/bob", false, vars),
      false,
    );
    assert.equal(wildcardMatch(`arn:x/\${aws:userid}`, "arn:x/", false, vars), false);
    assert.equal(wildcardMatch(`arn:x/\${aws:userid, 'none'}`, "arn:x/none", false, vars), true);
    assert.equal(wildcardMatch(`a\${*}b`, "a*b", false, vars), true);
    assert.equal(wildcardMatch(`a\${*}b`, "axb", false, vars), false);
  });
});

describe("parsePolicy", () => {
  const bad: Array<[string, string, "identity" | "trust", RegExp]> = [
    ["not JSON", "{", "identity", /^Syntax errors in policy\.$/],
    ["no Statement", '{"Version":"2012-10-17"}', "identity", /Syntax errors/],
    ["bad Version", '{"Version":"2020-01-01","Statement":[]}', "identity", /legacy parsing/],
    [
      "bad Effect",
      '{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}',
      "identity",
      /Invalid effect/,
    ],
    ["no Action", '{"Statement":{"Effect":"Allow","Resource":"*"}}', "identity", /must contain actions/],
    [
      "no Resource",
      '{"Statement":{"Effect":"Allow","Action":"iam:GetUser"}}',
      "identity",
      /must contain resources/,
    ],
    [
      "no vendor",
      '{"Statement":{"Effect":"Allow","Action":"GetUser","Resource":"*"}}',
      "identity",
      /prefaced by a vendor/,
    ],
    [
      "principal in identity policy",
      '{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}',
      "identity",
      /should not specify a principal/,
    ],
    [
      "trust without principal",
      '{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}',
      "trust",
      /Principal/,
    ],
  ];
  for (const [label, text, kind, message] of bad) {
    it(`refuses ${label} with MalformedPolicyDocument`, () =>
      assert.throws(
        () => parsePolicy(text, kind),
        (e: Error & { code?: string; status?: number }) =>
          e.code === "MalformedPolicyDocument" && e.status === 400 && message.test(e.message),
      ));
  }

  it("accepts single statements and string lists", () => {
    const doc = parsePolicy(
      '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":["*"]}}',
      "identity",
    );
    assert.equal(doc.statements.length, 1);
    assert.deepEqual(doc.statements[0]?.actions, ["iam:*"]);
  });
});

describe("evaluatePolicies", () => {
  const userArn = "arn:aws:iam::123456789012:user/alice";
  const p = (...statements: unknown[]) =>
    parsePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), "identity");
  const allowKeys = p({
    Effect: "Allow",
    Action: ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"],
    Resource: "arn:aws:iam::*:user/*",
  });
  const denyDelete = p({ Effect: "Deny", Action: "iam:DeleteAccessKey", Resource: "*" });
  const notAction = p({ Effect: "Allow", NotAction: "iam:Delete*", Resource: "*" });
  const notResource = p({ Effect: "Allow", Action: "iam:*", NotResource: "arn:aws:iam::*:user/admin" });
  const self = p({
    Effect: "Allow",
    Action: "iam:*AccessKey*",
    Resource: `arn:aws:iam::*:user/\${aws:username}`,
  });
  const legacySelf = parsePolicy(
    JSON.stringify({
      Version: "2008-10-17",
      Statement: [
        { Effect: "Allow", Action: "iam:ListAccessKeys", Resource: `arn:aws:iam::*:user/\${aws:username}` },
      ],
    }),
    "identity",
  );
  const conditional = p({
    Effect: "Allow",
    Action: "iam:ListUsers",
    Resource: "*",
    Condition: { StringEquals: { "aws:RequestedRegion": "us-east-1" } },
  });

  const cases: Array<[string, ReturnType<typeof p>[], string, string, Record<string, string>, Decision]> = [
    ["no policy", [], "iam:ListAccessKeys", userArn, {}, "ImplicitDeny"],
    ["allowed action", [allowKeys], "iam:ListAccessKeys", userArn, {}, "Allow"],
    ["action case-insensitive", [allowKeys], "IAM:listaccesskeys", userArn, {}, "Allow"],
    ["other action", [allowKeys], "iam:UpdateAccessKey", userArn, {}, "ImplicitDeny"],
    ["resource mismatch", [allowKeys], "iam:ListAccessKeys", "arn:aws:iam::1:role/r", {}, "ImplicitDeny"],
    ["explicit deny wins", [allowKeys, denyDelete], "iam:DeleteAccessKey", userArn, {}, "ExplicitDeny"],
    ["deny does not touch others", [allowKeys, denyDelete], "iam:CreateAccessKey", userArn, {}, "Allow"],
    ["NotAction allows the rest", [notAction], "iam:CreateUser", userArn, {}, "Allow"],
    ["NotAction excludes", [notAction], "iam:DeleteUser", userArn, {}, "ImplicitDeny"],
    ["NotResource allows the rest", [notResource], "iam:GetUser", userArn, {}, "Allow"],
    ["NotResource excludes", [notResource], "iam:GetUser", "arn:aws:iam::1:user/admin", {}, "ImplicitDeny"],
    [`\${aws:username} self`, [self], "iam:CreateAccessKey", userArn, { "aws:username": "alice" }, "Allow"],
    [
      `\${aws:username} other`,
      [self],
      "iam:CreateAccessKey",
      userArn,
      { "aws:username": "bob" },
      "ImplicitDeny",
    ],
    [`\${aws:username} absent (role)`, [self], "iam:CreateAccessKey", userArn, {}, "ImplicitDeny"],
    [
      "no variables in 2008-10-17",
      [legacySelf],
      "iam:ListAccessKeys",
      userArn,
      { "aws:username": "alice" },
      "ImplicitDeny",
    ],
    ["condition holds", [conditional], "iam:ListUsers", "*", { "aws:RequestedRegion": "us-east-1" }, "Allow"],
    [
      "condition fails",
      [conditional],
      "iam:ListUsers",
      "*",
      { "aws:RequestedRegion": "eu-west-1" },
      "ImplicitDeny",
    ],
  ];
  for (const [label, policies, action, resource, context, want] of cases) {
    it(`${label} → ${want}`, () =>
      assert.equal(evaluatePolicies(policies, { action, resource, context: ctx(context) }), want));
  }
});

describe("conditionHolds", () => {
  const c = (operator: string, key: string, ...values: string[]): Condition => ({ operator, key, values });
  const context = ctx({
    "sts:ExternalId": "ext-123",
    "aws:EpochTime": "1700000000",
    "aws:SecureTransport": "false",
  });
  const cases: Array<[Condition, boolean]> = [
    [c("StringEquals", "sts:ExternalId", "ext-123"), true],
    [c("StringEquals", "sts:externalid", "ext-123"), true],
    [c("StringEquals", "sts:ExternalId", "nope", "ext-123"), true],
    [c("StringEquals", "sts:ExternalId", "EXT-123"), false],
    [c("StringEqualsIgnoreCase", "sts:ExternalId", "EXT-123"), true],
    [c("StringNotEquals", "sts:ExternalId", "ext-123"), false],
    [c("StringLike", "sts:ExternalId", "ext-*"), true],
    [c("StringNotLike", "sts:ExternalId", "ext-*"), false],
    [c("StringEquals", "aws:missing", "x"), false],
    [c("StringNotEquals", "aws:missing", "x"), true],
    [c("StringEqualsIfExists", "aws:missing", "x"), true],
    [c("StringEqualsIfExists", "sts:ExternalId", "x"), false],
    [c("Null", "aws:missing", "true"), true],
    [c("Null", "sts:ExternalId", "true"), false],
    [c("Bool", "aws:SecureTransport", "false"), true],
    [c("NumericGreaterThan", "aws:EpochTime", "1600000000"), true],
    [c("NumericLessThan", "aws:EpochTime", "1600000000"), false],
    [c("ForAnyValue:StringEquals", "sts:ExternalId", "ext-123"), true],
    [c("SomethingElse", "sts:ExternalId", "ext-123"), false],
  ];
  for (const [cond, want] of cases) {
    it(`${cond.operator} ${cond.key} ${JSON.stringify(cond.values)} → ${want}`, () =>
      assert.equal(conditionHolds(cond, context, undefined), want));
  }
});

describe("evaluateTrust", () => {
  const trust = (principal: unknown, extra: Record<string, unknown> = {}) =>
    parsePolicy(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole", ...extra }],
      }),
      "trust",
    );
  const alice = { accountId: "111111111111", arn: "arn:aws:iam::111111111111:user/alice" };
  const session = {
    accountId: "111111111111",
    arn: "arn:aws:sts::111111111111:assumed-role/r/s",
    roleArn: "arn:aws:iam::111111111111:role/r",
  };
  const req = (context: Record<string, string> = {}) => ({
    action: "sts:AssumeRole",
    resource: "arn:aws:iam::222222222222:role/target",
    context: ctx(context),
  });
  const cases: Array<[string, ReturnType<typeof trust>, typeof alice, Record<string, string>, string]> = [
    ["user ARN", trust({ AWS: alice.arn }), alice, {}, "Allow/exact"],
    ["account id", trust({ AWS: "111111111111" }), alice, {}, "Allow/account"],
    ["account root ARN", trust({ AWS: "arn:aws:iam::111111111111:root" }), alice, {}, "Allow/account"],
    ["other account", trust({ AWS: "333333333333" }), alice, {}, "ImplicitDeny/-"],
    ["star", trust("*"), alice, {}, "Allow/exact"],
    ["role ARN names its sessions", trust({ AWS: session.roleArn }), session, {}, "Allow/exact"],
    ["service principal only", trust({ Service: "ec2.amazonaws.com" }), alice, {}, "ImplicitDeny/-"],
    [
      "ExternalId right",
      trust({ AWS: "111111111111" }, { Condition: { StringEquals: { "sts:ExternalId": "e-1" } } }),
      alice,
      { "sts:ExternalId": "e-1" },
      "Allow/account",
    ],
    [
      "ExternalId wrong",
      trust({ AWS: "111111111111" }, { Condition: { StringEquals: { "sts:ExternalId": "e-1" } } }),
      alice,
      { "sts:ExternalId": "e-2" },
      "ImplicitDeny/-",
    ],
    [
      "ExternalId missing",
      trust({ AWS: "111111111111" }, { Condition: { StringEquals: { "sts:ExternalId": "e-1" } } }),
      alice,
      {},
      "ImplicitDeny/-",
    ],
  ];
  for (const [label, doc, caller, context, want] of cases) {
    it(`${label} → ${want}`, () => {
      const r = evaluateTrust(doc, caller, req(context));
      assert.equal(`${r.decision}/${r.via ?? "-"}`, want);
    });
  }

  it("an explicit Deny in the trust policy wins", () => {
    const doc = parsePolicy(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { AWS: "111111111111" }, Action: "sts:AssumeRole" },
          { Effect: "Deny", Principal: { AWS: alice.arn }, Action: "sts:*" },
        ],
      }),
      "trust",
    );
    assert.equal(evaluateTrust(doc, alice, req()).decision, "ExplicitDeny");
  });
});
