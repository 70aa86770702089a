import assert from "node:assert/strict";
import { test } from "node:test";
import type { UserView } from "./discover-view.js";
import { buildReport, DAY_MS, keyVerdict } from "./report-verdicts.js";

const now = new Date("2026-06-01T00:00:00Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS);
const used = (d: number) => ({ date: daysAgo(d), service: "s3", region: "us-east-1" });

test("keyVerdict: CIS 1.14 (active and older than the limit) and unused for 90 days", () => {
  const max = 90 * DAY_MS;
  const cases = [
    { name: "young active, used", status: "Active", age: 10, last: used(1), violation: false, unused: false },
    {
      name: "exactly at the limit",
      status: "Active",
      age: 90,
      last: used(1),
      violation: false,
      unused: false,
    },
    { name: "old active, used", status: "Active", age: 91, last: used(1), violation: true, unused: false },
    {
      name: "old inactive is listed, no violation",
      status: "Inactive",
      age: 400,
      last: used(1),
      violation: false,
      unused: false,
    },
    { name: "never used, young", status: "Active", age: 30, last: null, violation: false, unused: false },
    { name: "never used, 91 days old", status: "Active", age: 91, last: null, violation: true, unused: true },
    {
      name: "last used 91 days ago",
      status: "Inactive",
      age: 200,
      last: used(91),
      violation: false,
      unused: true,
    },
    {
      name: "last use denied: unknown, no finding",
      status: "Active",
      age: 200,
      last: "denied",
      violation: true,
      unused: false,
    },
  ] as const;
  for (const c of cases) {
    const v = keyVerdict({ status: c.status, createDate: daysAgo(c.age), lastUsed: c.last }, now, max);
    assert.deepEqual(v, { violation: c.violation, unused: c.unused }, c.name);
  }
  // The limit is --max-age, the unused window is not.
  assert.equal(
    keyVerdict({ status: "Active", createDate: daysAgo(31), lastUsed: used(1) }, now, 30 * DAY_MS).violation,
    true,
  );
});

test("buildReport: summary counts, managed flag, users whose keys are denied", () => {
  const users: UserView[] = [
    {
      userName: "app",
      userId: "AIDAAPP",
      arn: "arn:aws:iam::123456789012:user/app",
      path: "/",
      createDate: daysAgo(500),
      managedBy: [{ uid: "u1", title: "app (AWS)" }],
      keys: [
        { accessKeyId: "AKIAOLD", status: "Active", createDate: daysAgo(120), lastUsed: used(2) },
        { accessKeyId: "AKIANEW", status: "Inactive", createDate: daysAgo(200), lastUsed: null },
      ],
    },
    {
      userName: "ops",
      userId: "AIDAOPS",
      arn: "",
      path: "/",
      createDate: daysAgo(5),
      managedBy: [],
      keys: "denied",
    },
    {
      userName: "none",
      userId: "AIDANONE",
      arn: "",
      path: "/",
      createDate: daysAgo(5),
      managedBy: [],
      keys: [],
    },
  ];
  const r = buildReport(users, { account: "123456789012", now, maxAgeMs: 90 * DAY_MS });
  assert.deepEqual(r.summary, {
    users: 3,
    managedUsers: 1,
    keys: 2,
    activeKeys: 1,
    violations: 1,
    unusedKeys: 1,
    usersNotReadable: 1,
  });
  assert.equal(r.maxAgeDays, 90);
  assert.equal(r.generatedAt, now.toISOString());
  const app = r.users[0]!;
  assert.equal(app.managed, true);
  assert.ok(Array.isArray(app.keys));
  assert.deepEqual(
    (app.keys as Array<{ cis114: string; unused: boolean; ageDays: number }>).map((k) => [
      k.cis114,
      k.unused,
      k.ageDays,
    ]),
    [
      ["violation", false, 120],
      ["inactive", true, 200],
    ],
  );
  assert.equal(r.users[1]!.keys, "denied");
});
