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

/** Replace every occurrence of each known secret value in `text` (for script output, error messages). */
export function redactText(text: string, secrets: Iterable<string | Secret | undefined>): string {
  let out = text;
  for (const s of secrets) {
    const raw = s instanceof Secret ? s.reveal() : s;
    if (raw && raw.length >= 4) out = out.split(raw).join(REDACTED);
  }
  return out;
}

export { REDACTED };
