/**
 * Turning `--set field=value` and `--secret field` into field changes. Secret values never come
 * from argv: `--set` refuses secret fields, `--secret` reads them from stdin (or a hidden prompt).
 */
import { usageError } from "../errors.js";
import { checkSettingFields } from "../rotation/field-checks.js";
import { findField, isSecretField, type KeeperRecord, setFieldValue } from "../vault/record.js";
import type { CommandContext } from "./context.js";

/**
 * Broader than SECRET_FIELD_LABELS on purpose: anything that looks secret is refused in argv (a
 * refusal costs a retry with --secret), while what is masked and redacted is decided by isSecretField.
 */
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
      isSecretField({ type: name, label: name })
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

/**
 * Reads one value per secret field: stdin lines in order, or hidden prompts on a terminal.
 *
 * A missing or empty value is refused, never stored as an empty secret: an empty pipe (`echo "$UNSET" |`,
 * `< /dev/null`) would otherwise blank the secret it was meant to set. Removing a field is `--unset F`.
 */
export async function readSecretValues(ctx: CommandContext, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  let values: string[];
  if (process.stdin.isTTY) {
    const { promptHidden } = await import("../vault/keys.js");
    values = [];
    for (const n of names) values.push((await promptHidden(`${n}: `)).reveal());
  } else {
    values = (await ctx.readStdin()).split(/\r?\n/);
    // "a\n" is one line, "" is none: the text after the last newline is a line only if it is not empty.
    if (values.at(-1) === "") values.pop();
  }
  const missing = names.filter((_, i) => values[i] === undefined);
  if (missing.length > 0) {
    throw usageError(
      `no value on stdin for --secret ${missing.join(", ")} (${values.length} line(s) for ${names.length} --secret field(s)); nothing was changed`,
      `give one value per line on stdin, in the order of the --secret flags (${names.join(", ")})`,
    );
  }
  const empty = names.filter((_, i) => values[i]!.trim() === "");
  if (empty.length > 0) {
    throw usageError(
      `the value for --secret ${empty.join(", ")} is empty; nothing was changed`,
      `give a non-empty value; to remove a field use: rekey record edit RECORD --unset ${empty[0]}`,
    );
  }
  return values.slice(0, names.length);
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

/**
 * Refuses a record whose rotation settings (`delete_all_keys_before_rotating`, `NOOP`,
 * `rotation_strategy`, `rotation_mode`) rotation would refuse or misread. With `before` (an edit), only
 * the problems the change brings: a record already holding a bad value can still be renamed.
 */
export function refuseBadSettings(record: KeeperRecord, before?: KeeperRecord): void {
  const known = new Set(before ? checkSettingFields(before) : []);
  const problems = checkSettingFields(record).filter((p) => !known.has(p));
  if (problems.length === 0) return;
  throw usageError(
    `record "${record.title}": ${problems.join("; ")}; nothing was changed`,
    "give a valid value with --set FIELD=VALUE, or leave the field out",
  );
}
