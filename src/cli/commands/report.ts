/**
 * `rekey report`: the compliance report read from IAM itself (every user under --path-prefix, each key's
 * age, status and last use, whether a record manages the user, the CIS 1.14 verdict, keys unused for 90
 * days), as a table, JSON, CSV or one self-contained HTML file. Read-only, in IAM and in the vault.
 * `--fail-on-violation` makes a violation exit 9 (a CI gate); without it a violation is only reported.
 */
import { open } from "node:fs/promises";
import { conflict, RekeyError, usageError } from "../../errors.js";
import { parseDuration } from "../../rotation/settings.js";
import { line } from "../context.js";
import { checkPathPrefix, readInventory } from "../iam-inventory.js";
import type { CommandRun } from "../registry.js";
import { renderReportHtml } from "../report-html.js";
import {
  REPORT_FORMATS,
  type ReportFormat,
  renderReportCsv,
  renderReportJson,
  renderReportTable,
} from "../report-render.js";
import { buildReport, type ComplianceReport } from "../report-verdicts.js";

const RENDER: Record<ReportFormat, (r: ComplianceReport) => string> = {
  table: renderReportTable,
  json: renderReportJson,
  csv: renderReportCsv,
  html: renderReportHtml,
};

function parseFormat(value: unknown): ReportFormat {
  const f = typeof value === "string" ? value.trim().toLowerCase() : "table";
  if ((REPORT_FORMATS as readonly string[]).includes(f)) return f as ReportFormat;
  throw usageError(
    `--format "${String(value)}" is not a report format`,
    `use one of: ${REPORT_FORMATS.join(", ")}`,
  );
}

function parseMaxAge(value: unknown): number {
  const text = typeof value === "string" ? value : "90d";
  const ms = parseDuration(text, "--max-age");
  if (ms <= 0) throw usageError("--max-age must be more than 0", "e.g. --max-age 90d (CIS 1.14's limit)");
  return ms;
}

/** A new file, mode 0600 from its creation (never a moment readable by others); an existing one is refused. */
async function writeNewFile(path: string, text: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      throw conflict(
        `${path} already exists; not overwriting it`,
        "choose another --out file or remove it first",
      );
    throw err;
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const run: CommandRun = async (ctx, _args, opts) => {
  // Every option checked before the vault opens: a typo costs no passphrase prompt.
  const format = parseFormat(opts.format);
  const maxAgeMs = parseMaxAge(opts.maxAge);
  const pathPrefix = checkPathPrefix(typeof opts.pathPrefix === "string" ? opts.pathPrefix : undefined);
  const out = typeof opts.out === "string" ? opts.out : undefined;
  const store = await ctx.asyncVault();
  const inventory = await readInventory(ctx, store, {
    credentials: typeof opts.credentials === "string" ? opts.credentials : undefined,
    region: typeof opts.region === "string" ? opts.region : undefined,
    endpointUrl: typeof opts.endpointUrl === "string" ? opts.endpointUrl : undefined,
    pathPrefix,
  });
  const report = buildReport(inventory.users, { account: inventory.account, now: new Date(), maxAgeMs });
  const text = RENDER[format](report);
  if (out === undefined) ctx.stdout.write(text);
  else {
    await writeNewFile(out, text);
    line(ctx.stdout, `wrote the ${format} report of account ${report.account} to ${out} (mode 0600)`);
  }
  const { violations } = report.summary;
  if (opts.failOnViolation === true && violations > 0) {
    throw new RekeyError(
      "violation",
      `${violations} active access key(s) in account ${report.account} are older than ${report.maxAgeDays} days (CIS AWS Foundations 1.14)`,
      {
        hint: "rotate them (`rekey rotate`, or adopt the unmanaged users with `rekey discover --import`), or deactivate keys nobody uses",
        details: { violations },
      },
    );
  }
};
