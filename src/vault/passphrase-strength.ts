/**
 * `rekey init` refuses a passphrase an attacker holding the vault file would guess first. scrypt makes each
 * guess cost ~0.5 s; that protects a passphrase only if it is not among the first few thousand guesses.
 * These rules catch the trivially weak ones, no more: length is what really counts.
 */
import { usageError } from "../errors.js";
import type { Secret } from "../secret.js";

/** Fewer characters than this is refused. */
export const MIN_PASSPHRASE_LENGTH = 12;

/** Common passwords of 12+ characters (shorter ones fail on length), compared lower-cased. */
const COMMON = new Set([
  "passwordpassword",
  "password1234",
  "password12345",
  "password123456",
  "passw0rdpassw0rd",
  "p@ssw0rd1234",
  "qwertyuiop12",
  "qwertyuiop123",
  "qwertyuiopasdf",
  "qwertyuiopasdfghjkl",
  "1q2w3e4r5t6y",
  "1qaz2wsx3edc",
  "qazwsxedcrfv",
  "abcdefghijkl",
  "abc123abc123",
  "administrator",
  "changemechangeme",
  "changeme1234",
  "letmeinletmein",
  "iloveyouiloveyou",
  "trustno1trustno1",
  "welcome12345",
  "welcome123456",
  "secretsecret",
  "mysecretpassword",
  "mypassword123",
  "thisismypassword",
]);

/** Why `passphrase` is too weak, or undefined when it passes. Pure: tested table-driven. */
export function passphraseWeakness(passphrase: string): string | undefined {
  const chars = [...passphrase.normalize("NFC")];
  if (chars.length < MIN_PASSPHRASE_LENGTH) return `it is shorter than ${MIN_PASSPHRASE_LENGTH} characters`;
  if (chars.every((c) => c === chars[0])) return "it is one character repeated";
  if (/^[0-9]+$/.test(passphrase)) return "it is only digits";
  if (COMMON.has(passphrase.toLowerCase())) return "it is a common password";
  return undefined;
}

/** Refuse (usage, exit 2) a trivially weak passphrase for a new vault. Never quotes the passphrase. */
export function assertStrongPassphrase(passphrase: Secret, where: string): void {
  const why = passphraseWeakness(passphrase.reveal());
  if (why === undefined) return;
  throw usageError(
    `the passphrase for ${where} is too weak: ${why}`,
    `choose at least ${MIN_PASSPHRASE_LENGTH} characters, e.g. four or more unrelated words`,
  );
}
