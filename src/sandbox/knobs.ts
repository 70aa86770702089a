/**
 * The sandbox's fault and timing knobs: one definition used by the programmatic API, the CLI flags
 * and the admin endpoint, validated in one place (`KNOB_SPECS`).
 */
import { usageError } from "../errors.js";

/** How an act-then-fail loses the answer: HTTP 500 ServiceFailure, a dropped connection, or either (50/50). */
export type ActThenFailMode = "500" | "drop" | "mixed";

export interface Knobs {
  /** A key created through the API is refused with InvalidClientTokenId for this long (ms). */
  propagationDelayMs: number;
  /** Token-bucket refill rate per account and service (IAM, STS), requests per second; 0: no throttling. */
  throttleRate: number;
  /** Token-bucket size; 0 means one second's worth of `throttleRate`. */
  throttleBurst: number;
  /** Fraction (0..1) of requests answered with HTTP 500 (ServiceFailure / InternalFailure). */
  errorRate: number;
  /** Fraction (0..1) of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** Added to every AWS request before it is handled (ms). */
  latencyMs: number;
  /** Seed of the PRNG behind ids and fault draws; null draws a fresh seed. */
  randomSeed: number | null;
  /** Lowest DurationSeconds AssumeRole accepts (AWS: 900). Lower it to test expired sessions. */
  minSessionDurationSeconds: number;
  /**
   * Fraction (0..1) of mutating IAM requests (see MUTATING_IAM_ACTIONS) that are carried out (or
   * refused) as usual, and whose answer is then lost as `actThenFailMode` says.
   */
  actThenFailRate: number;
  actThenFailMode: ActThenFailMode;
  /**
   * Fraction (0..1) of mutating IAM requests whose connection is reset at once, without an answer,
   * and which are carried out 0..`lateActionDelayMs` ms later.
   */
  lateActionRate: number;
  lateActionDelayMs: number;
  /** ListAccessKeys answers a user's keys as they were this long ago (ms): IAM's eventual consistency. */
  staleListMs: number;
  /** Fraction (0..1) of requests accepted and read, then never answered (the client must time out). */
  blackHoleRate: number;
}

export const DEFAULT_KNOBS: Readonly<Knobs> = Object.freeze({
  propagationDelayMs: 0,
  throttleRate: 0,
  throttleBurst: 0,
  errorRate: 0,
  dropRate: 0,
  latencyMs: 0,
  randomSeed: null,
  minSessionDurationSeconds: 900,
  actThenFailRate: 0,
  actThenFailMode: "mixed",
  lateActionRate: 0,
  lateActionDelayMs: 300,
  staleListMs: 0,
  blackHoleRate: 0,
});

interface KnobSpec {
  /** True when `value` is acceptable for this knob. */
  accepts(value: unknown): boolean;
  /** For messages: "a number in 0..1". */
  expected: string;
  /** The `rekey sandbox` flag, e.g. `--error-rate <r>`; none for knobs only the API sets. */
  flag?: string;
  /** For the flag's help text. */
  description?: string;
  /** The flag's text → a value for `accepts`. */
  parse?: (text: string) => unknown;
}

const range = (min: number, max: number, flag?: string, description?: string): KnobSpec => ({
  accepts: (v) => typeof v === "number" && Number.isFinite(v) && v >= min && v <= max,
  expected: `a number in ${min}..${max}`,
  ...(flag !== undefined ? { flag, description, parse: Number } : {}),
});

const ACT_THEN_FAIL_MODES: readonly ActThenFailMode[] = ["500", "drop", "mixed"];

/** Every knob: what it accepts and the CLI flag that sets it. */
export const KNOB_SPECS: { readonly [K in keyof Knobs]: KnobSpec } = {
  propagationDelayMs: range(
    0,
    3_600_000,
    "--propagation-delay <ms>",
    "refuse a new key for this long after its creation",
  ),
  throttleRate: range(
    0,
    1_000_000,
    "--throttle-rate <n>",
    "requests/s per account and service (IAM, STS) before Throttling",
  ),
  throttleBurst: range(0, 1_000_000, "--throttle-burst <n>", "burst size of the throttling token bucket"),
  errorRate: range(0, 1, "--error-rate <r>", "fraction of requests answered with HTTP 500 (0..1)"),
  dropRate: range(0, 1, "--drop-rate <r>", "fraction of connections dropped without an answer (0..1)"),
  latencyMs: range(0, 600_000, "--latency <ms>", "added latency per request"),
  randomSeed: {
    accepts: (v) => v === null || (typeof v === "number" && Number.isInteger(v)),
    expected: "an integer or null",
    flag: "--random-seed <n>",
    description: "seed for the fault and id generators (reproducible runs)",
    parse: Number,
  },
  minSessionDurationSeconds: range(1, 900),
  actThenFailRate: range(
    0,
    1,
    "--act-then-fail-rate <r>",
    "fraction of mutating IAM requests carried out whose answer is then lost (0..1)",
  ),
  actThenFailMode: {
    accepts: (v) => ACT_THEN_FAIL_MODES.includes(v as ActThenFailMode),
    expected: `one of ${ACT_THEN_FAIL_MODES.map((m) => JSON.stringify(m)).join(", ")}`,
    flag: "--act-then-fail-mode <mode>",
    description: "how the answer is lost: 500 (ServiceFailure), drop (no answer) or mixed",
    parse: (text) => text,
  },
  lateActionRate: range(
    0,
    1,
    "--late-action-rate <r>",
    "fraction of mutating IAM requests reset at once and carried out a moment later (0..1)",
  ),
  lateActionDelayMs: range(
    0,
    600_000,
    "--late-action-delay <ms>",
    "a late action happens 0..this many ms after the reset (default 300)",
  ),
  staleListMs: range(
    0,
    3_600_000,
    "--stale-list <ms>",
    "ListAccessKeys shows a user's keys as they were this long ago",
  ),
  blackHoleRate: range(0, 1, "--black-hole-rate <r>", "fraction of requests never answered (0..1)"),
};

export const KNOB_NAMES = Object.keys(KNOB_SPECS) as Array<keyof Knobs>;

/** Checks a partial knob set from any source (API, CLI, admin JSON); throws a usage RekeyError. */
export function validateKnobs(input: unknown): Partial<Knobs> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw usageError("sandbox knobs must be an object", `known knobs: ${KNOB_NAMES.join(", ")}`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const spec = Object.hasOwn(KNOB_SPECS, name) ? KNOB_SPECS[name as keyof Knobs] : undefined;
    if (!spec) throw usageError(`unknown sandbox knob "${name}"`, `known knobs: ${KNOB_NAMES.join(", ")}`);
    if (!spec.accepts(value)) {
      throw usageError(`sandbox knob ${name} must be ${spec.expected}, got ${JSON.stringify(value)}`);
    }
    out[name] = value;
  }
  return out as Partial<Knobs>;
}

/** The knobs that have a `rekey sandbox` flag, with the flag's name and help text. */
export const KNOB_FLAGS: ReadonlyArray<{ knob: keyof Knobs; flags: string; description: string }> =
  KNOB_NAMES.flatMap((knob) => {
    const { flag, description } = KNOB_SPECS[knob];
    return flag ? [{ knob, flags: flag, description: description ?? "" }] : [];
  });

/** `--act-then-fail-rate <r>` → `actThenFailRate`, as commander names an option. */
const optionKey = (flags: string) =>
  flags
    .replace(/^--/, "")
    .replace(/ .*$/, "")
    .replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * The knobs set by parsed `rekey sandbox` options (commander's camel-cased keys, string values);
 * a bad value is a usage error naming the flag.
 */
export function knobsFromFlags(opts: Record<string, unknown>): Partial<Knobs> {
  const out: Record<string, unknown> = {};
  for (const { knob, flags } of KNOB_FLAGS) {
    const raw = opts[optionKey(flags)];
    if (raw === undefined) continue;
    const spec = KNOB_SPECS[knob];
    const value = spec.parse ? spec.parse(String(raw)) : raw;
    if (!spec.accepts(value)) {
      throw usageError(`${flags.replace(/ .*$/, "")} ${String(raw)} is not ${spec.expected}`);
    }
    out[knob] = value;
  }
  return out as Partial<Knobs>;
}

/** The live knob values; `onChange` listeners see every accepted change. */
export class KnobStore {
  #knobs: Knobs;
  readonly #listeners: Array<(knobs: Knobs, changed: Partial<Knobs>) => void> = [];

  constructor(initial: Partial<Knobs> = {}) {
    this.#knobs = { ...DEFAULT_KNOBS, ...validateKnobs(initial) };
  }

  /** The current values (a copy). */
  get(): Knobs {
    return { ...this.#knobs };
  }

  /** Hot path: the live object, not to be mutated by the caller. */
  current(): Readonly<Knobs> {
    return this.#knobs;
  }

  set(partial: Partial<Knobs>): Knobs {
    const changed = validateKnobs(partial);
    this.#knobs = { ...this.#knobs, ...changed };
    for (const l of this.#listeners) l(this.#knobs, changed);
    return this.get();
  }

  onChange(listener: (knobs: Knobs, changed: Partial<Knobs>) => void): void {
    this.#listeners.push(listener);
  }
}
