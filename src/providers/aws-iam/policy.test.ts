import assert from "node:assert/strict";
import { test } from "node:test";
import { policyFor, policyJson } from "./policy.js";

test("policy: the seed's three actions (+ GetUser, GetAccessKeyLastUsed) for the default strategy", () => {
  const p = policyFor({ account: "123456789012" });
  assert.equal(p.Version, "2012-10-17");
  assert.equal(p.Statement.length, 1);
  assert.deepEqual(p.Statement[0]?.Action, [
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
    "iam:GetUser",
    "iam:GetAccessKeyLastUsed",
  ]);
  assert.equal(p.Statement[0]?.Resource, "arn:aws:iam::123456789012:user/*");
  assert.deepEqual(policyFor({ checkUserId: false, checkLastUse: false }).Statement[0]?.Action, [
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
  ]);
  assert.deepEqual(policyFor({ strategy: "delete-then-create" }), policyFor({}));
});

test("policy: adoption adds UpdateAccessKey; discover adds a ListUsers statement", () => {
  assert.ok(policyFor({ adopt: true }).Statement[0]?.Action.includes("iam:UpdateAccessKey"));
  assert.ok(!policyFor({}).Statement[0]?.Action.includes("iam:UpdateAccessKey"));
  const d = policyFor({ discover: true, account: "123456789012" });
  assert.deepEqual(d.Statement[1], {
    Sid: "RekeyDiscoverUsers",
    Effect: "Allow",
    Action: ["iam:ListUsers"],
    Resource: "arn:aws:iam::123456789012:user/*",
  });
});

test("policy: graceful adds UpdateAccessKey; partitions and any account", () => {
  const p = policyFor({ strategy: "graceful", partition: "aws-cn" });
  assert.ok(p.Statement[0]?.Action.includes("iam:UpdateAccessKey"));
  assert.equal(p.Statement[0]?.Resource, "arn:aws-cn:iam::*:user/*");
  assert.equal(policyFor({ partition: "aws-us-gov" }).Statement[0]?.Resource, "arn:aws-us-gov:iam::*:user/*");
});

test("policy: a bad account id is a usage error; JSON prints indented", () => {
  assert.throws(() => policyFor({ account: "12345" }), /not an AWS account id/);
  const text = policyJson({ strategy: "graceful" });
  assert.ok(text.endsWith("}\n"));
  assert.deepEqual(JSON.parse(text), policyFor({ strategy: "graceful" }));
});
