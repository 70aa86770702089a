/**
 * Turning `--set field=value` and `--secret field` into field changes. Secret values never come
 * from argv: `--set` refuses secret fields, `--secret` reads them from stdin (or a hidden prompt).
 */
import { usageError } from "../errors.js";
import { findField, isSecretField, type KeeperRecord, setFieldValue } from "../vault/record.js";
import type { CommandContext } from "./context.js";

/** Labels that hold secrets even when stored as text (defensive: refuse them in argv). */
const SECRET_LABEL_RE = /(secret|password|passphrase|private.?key|token)/i;

export function parseAssignment(s: string): { name: string; value: string } {
  const i = s.indexOf("=");
  if (i <= 0) throw usageError(`"--set ${s}" is not FIELD=VALUE`, "write it as --set login=alice");
  return { name: s.slice(0, i), value: s.slice(i + 1) };
}

export function applySets(record: KeeperRecord, sets: string[]): string[] {
  const changed: string[] = [];
  for (const s of sets) {
    const { name, value } = parseAssignment(s);
    const existing = findField(record, name)?.field;
    if (
      (existing && isSecretField(existing)) ||
      SECRET_LABEL_RE.test(name) ||
      isSecretField({ type: name })
    ) {
      throw usageError(
        `"${name}" holds a secret: secret values are not accepted on the command line (argv is visible to other users)`,
        `use --secret ${name} and give the value on stdin`,
      );
    }
    setFieldValue(record, name, value);
    changed.push(name);
  }
  return changed;
}

/** Reads one value per secret field: stdin lines in order, or hidden prompts on a terminal. */
export async function readSecretValues(ctx: CommandContext, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  if (process.stdin.isTTY) {
    const { promptHidden } = await import("../vault/keys.js");
    const out: string[] = [];
    for (const n of names) out.push((await promptHidden(`${n}: `)).reveal());
    return out;
  }
  const lines = (await ctx.readStdin()).split(/\r?\n/);
  if (lines.length < names.length || names.some((_, i) => lines[i] === undefined)) {
    throw usageError(
      `expected ${names.length} line(s) on stdin for ${names.join(", ")}`,
      "give one value per line",
    );
  }
  return names.map((_, i) => lines[i]!);
}

export function applySecrets(record: KeeperRecord, names: string[], values: string[]): void {
  names.forEach((name, i) => {
    const existing = findField(record, name)?.field;
    setFieldValue(
      record,
      name,
      values[i] ?? "",
      existing || isSecretField({ type: name }) ? {} : { type: "secret" },
    );
  });
}
