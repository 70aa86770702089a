/**
 * `rekey report --format html`, pure: ONE self-contained page (inline CSS; no script, no font, no image, no
 * link to anything outside the file), so it can be mailed, archived or opened offline. Every value is
 * escaped: a record title is whatever someone typed into the vault.
 */
import { lastUsedText, managedText, summaryText, verdictText } from "./report-render.js";
import type { ComplianceReport } from "./report-verdicts.js";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text for HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}
p.meta{color:#555;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.mono{font-family:ui-monospace,Menlo,Consolas,monospace}
tr.violation td{background:#fde2e2}
tr.unused td.finding{background:#fff4cc}
span.bad{color:#a40000;font-weight:600}
span.ok{color:#1a6b1a}
ul.summary{margin:.5rem 0 1.5rem}
`.trim();

export function renderReportHtml(r: ComplianceReport): string {
  const e = escapeHtml;
  const rows: string[] = [];
  const cell = (text: string, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${e(text)}</td>`;
  for (const u of r.users) {
    const managed = managedText(u);
    if (u.keys === "denied" || u.keys.length === 0) {
      const what = u.keys === "denied" ? "? (iam:ListAccessKeys denied)" : "no keys";
      rows.push(
        `<tr>${cell(u.userName, "mono")}${cell(what)}${cell("")}${cell("")}${cell("")}${cell(managed)}${cell("")}${cell("", "finding")}</tr>`,
      );
      continue;
    }
    for (const k of u.keys) {
      const verdict =
        k.cis114 === "violation"
          ? `<td><span class="bad">${e(verdictText(k, r.maxAgeDays))}</span></td>`
          : `<td><span class="ok">${e(verdictText(k, r.maxAgeDays))}</span></td>`;
      const cls = [k.cis114 === "violation" ? "violation" : "", k.unused ? "unused" : ""]
        .filter(Boolean)
        .join(" ");
      rows.push(
        `<tr${cls ? ` class="${cls}"` : ""}>${cell(u.userName, "mono")}${cell(k.accessKeyId, "mono")}${cell(k.status)}` +
          `${cell(`${k.ageDays}d`)}${cell(lastUsedText(k))}${cell(managed)}${verdict}` +
          `${cell(k.unused ? `unused ${r.unusedDays}d+` : "", "finding")}</tr>`,
      );
    }
  }
  const s = r.summary;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>rekey access key report: account ${e(r.account)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Access key report: account ${e(r.account)}</h1>
<p class="meta">Generated ${e(r.generatedAt)} by rekey. CIS AWS Foundations 1.14: active keys older than ${e(String(r.maxAgeDays))} days are violations; inactive keys are listed only.</p>
<ul class="summary">
<li>${e(String(s.users))} user(s), ${e(String(s.managedUsers))} managed by rekey</li>
<li>${e(String(s.keys))} key(s), ${e(String(s.activeKeys))} active</li>
<li><span class="${s.violations > 0 ? "bad" : "ok"}">${e(String(s.violations))} violation(s)</span></li>
<li>${e(String(s.unusedKeys))} key(s) unused for ${e(String(r.unusedDays))} days</li>
</ul>
<p class="meta">${e(summaryText(r))}</p>
<table>
<thead><tr><th>User</th><th>Access key</th><th>Status</th><th>Age</th><th>Last used</th><th>Managed by</th><th>CIS 1.14</th><th>Finding</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</body>
</html>
`;
}
