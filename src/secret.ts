import { inspect } from "node:util";

const REDACTED = "[REDACTED]";

/**
 * A secret value (AWS secret key, passphrase, password). It never prints itself: `String()`,
 * `JSON.stringify` and `util.inspect` all give "[REDACTED]". Call `reveal()` at the one place that
 * needs the raw value (signing a request, encrypting into the vault).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  equals(other: Secret): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Below this length a value is not redacted: too many innocent matches, too little to hide. */
const MIN_SECRET_LENGTH = 4;

/**
 * Replace every occurrence of each known secret value in `text` (script output, error messages,
 * webhook bodies), in each form a program commonly prints it in (see `secretForms`).
 */
export function redactText(text: string, secrets: Iterable<string | Secret | undefined>): string {
  return redactForms(text, secretFormsOf(secrets));
}

/** `redactText` with the forms already computed (`secretFormsOf`), for text redacted many times. */
export function redactForms(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) out = out.split(form).join(REDACTED);
  return out;
}

/**
 * Every form of every secret that `redactText` replaces, longest first (so a secret containing
 * another is replaced whole), without duplicates. Values shorter than 4 characters and "[REDACTED]"
 * itself are skipped.
 */
export function secretFormsOf(secrets: Iterable<string | Secret | undefined>): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    const raw = s instanceof Secret ? s.reveal() : s;
    if (!raw || raw.length < MIN_SECRET_LENGTH || raw === REDACTED) continue;
    for (const f of secretForms(raw)) if (f.length >= MIN_SECRET_LENGTH) out.add(f);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * The forms one secret takes in what a program prints:
 * - as is, and inside a JSON string (`\"`, `\\`, `\uXXXX`), with `/` escaped as `\/` too (PHP's and
 *   some Java serializers' default);
 * - URL-encoded: `encodeURIComponent`, the stricter RFC 3986 set (`!'()*` encoded too, Python's
 *   `quote(s, safe="")`), with `/` left as is (Python's default `safe="/"`), with `+` for a space
 *   (forms), and with lower-case hex;
 * - base64 and base64url, at each of the 3 byte alignments a secret can have inside a larger blob.
 *   Only the stable core of each is searched: the edge characters also carry bits of the neighbouring
 *   bytes, so they differ from one blob to the next (`base64Cores`).
 */
export function secretForms(raw: string): string[] {
  const json = JSON.stringify(raw).slice(1, -1);
  const forms = new Set([raw, json, raw.replaceAll("/", "\\/"), json.replaceAll("/", "\\/")]);
  const strict = (v: string) =>
    encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  for (const encoded of [encodeURIComponent(raw), strict(raw)]) {
    for (const slash of [encoded, encoded.replaceAll("%2F", "/")]) {
      for (const space of [slash, slash.replaceAll("%20", "+")]) {
        forms.add(space);
        forms.add(space.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
      }
    }
  }
  for (const core of base64Cores(Buffer.from(raw, "utf8"))) forms.add(core);
  return [...forms];
}

/**
 * The characters of base64 and base64url that depend only on `bytes`, at byte offsets 0, 1 and 2
 * within a larger encoded buffer. At offset k the secret's bits start at bit 8k of the padded
 * stream; a base64 character covers 6 bits, so the characters wholly inside [8k, 8k + 8n) are the
 * ones whose value does not depend on the bytes around the secret.
 */
export function base64Cores(bytes: Buffer): string[] {
  const out: string[] = [];
  for (const k of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const first = Math.ceil((8 * k) / 6);
    const end = Math.floor((8 * (k + bytes.length)) / 6);
    if (end - first < MIN_SECRET_LENGTH) continue;
    for (const encoding of ["base64", "base64url"] as const) {
      out.push(padded.toString(encoding).slice(first, end));
    }
  }
  return out;
}

export { REDACTED };
