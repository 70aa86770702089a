/**
 * How a rotation result is shown on a terminal: key ids and steps, never secrets. Record titles, AWS
 * messages and warnings are escaped (printable), each on its own line.
 */
import type { RepairResult, RotationResult } from "../rotation/index.js";
import { printable } from "./printable.js";

export function renderRotation(r: RotationResult): string {
  const lines: string[] = [];
  const head = r.dryRun ? "plan (dry run, nothing changed)" : "rotated";
  lines.push(`${head}: "${r.recordTitle}" (${r.recordUid}) IAM user ${r.userName}, strategy ${r.strategy}`);
  lines.push(`  credentials: ${r.credentialSource.description}`);
  lines.push(`  endpoint:    ${r.iamEndpoint} (${r.partition}, ${r.region})`);
  if (r.resumed) {
    const orphans = r.resumed.orphansDeleted.length
      ? `; orphan keys deleted: ${r.resumed.orphansDeleted.join(", ")}`
      : "";
    lines.push(`  resumed an interrupted rotation: ${r.resumed.outcome}${orphans}`);
  }
  for (const s of r.steps) {
    const key = s.keyId ? ` ${s.keyId}` : "";
    const why = s.reason ? ` (${s.reason})` : "";
    lines.push(`  ${s.status === "done" ? "✓" : s.status === "planned" ? "·" : "-"} ${s.step}${key}${why}`);
  }
  if (r.created) lines.push(`  new key:     ${r.created.accessKeyId} created ${r.created.createDate}`);
  if (r.verified) lines.push(`  verified:    ${r.verified.arn} after ${r.verified.attempts} attempt(s)`);
  if (r.deleted.length) lines.push(`  deleted:     ${r.deleted.join(", ")}`);
  if (r.deactivated.length) lines.push(`  deactivated: ${r.deactivated.join(", ")}`);
  if (r.retained) {
    lines.push(`  kept:        ${r.retained.keyIds.join(", ")}: ${r.retained.why}`);
    lines.push(
      r.retained.held
        ? "  next:        checked again after old_key_recheck (default 1h) by a running gateway or `rekey repair`; deleted once unused"
        : "  next:        retired after the overlap by a running gateway or `rekey repair`, each step only when unused",
    );
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return `${lines.map((l) => printable(l)).join("\n")}\n`;
}

export function renderRepair(r: RepairResult): string {
  if (r.records.length === 0)
    return "nothing to repair: no interrupted rotation and no previous key due for its next step\n";
  const lines = r.records.map((x) => {
    const parts = [`${x.recordTitle ?? x.recordUid} (${x.recordUid}): ${x.outcome}`];
    if (x.orphansDeleted.length) parts.push(`orphans deleted ${x.orphansDeleted.join(", ")}`);
    if (x.created) parts.push(`created ${x.created}`);
    if (x.deleted.length) parts.push(`deleted ${x.deleted.join(", ")}`);
    if (x.deactivated.length) parts.push(`deactivated ${x.deactivated.join(", ")}`);
    if (x.held) parts.push(x.held);
    if (x.error) parts.push(`error: ${x.error.message}${x.error.hint ? ` (fix: ${x.error.hint})` : ""}`);
    for (const w of x.warnings) parts.push(`warning: ${w}`);
    return printable(parts.join("; "));
  });
  return `${lines.join("\n")}\n`;
}
