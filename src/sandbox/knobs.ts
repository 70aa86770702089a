/**
 * The sandbox's fault and timing knobs: one definition used by the programmatic API, the CLI flags
 * and the admin endpoint, validated in one place.
 */
import { usageError } from "../errors.js";

export interface Knobs {
  /** A key created through the API is refused with InvalidClientTokenId for this long (ms). */
  propagationDelayMs: number;
  /** Token-bucket refill rate per account, requests per second; 0 turns throttling off. */
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
});

const LIMITS: Record<Exclude<keyof Knobs, "randomSeed">, [number, number]> = {
  propagationDelayMs: [0, 3_600_000],
  throttleRate: [0, 1_000_000],
  throttleBurst: [0, 1_000_000],
  errorRate: [0, 1],
  dropRate: [0, 1],
  latencyMs: [0, 600_000],
  minSessionDurationSeconds: [1, 900],
};

export const KNOB_NAMES = [...Object.keys(LIMITS), "randomSeed"] as Array<keyof Knobs>;

/** Checks a partial knob set from any source (API, CLI, admin JSON); throws a usage RekeyError. */
export function validateKnobs(input: unknown): Partial<Knobs> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw usageError("sandbox knobs must be an object", `known knobs: ${KNOB_NAMES.join(", ")}`);
  }
  const out: Partial<Knobs> = {};
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (name === "randomSeed") {
      if (value !== null && !(typeof value === "number" && Number.isInteger(value))) {
        throw usageError(`sandbox knob randomSeed must be an integer or null, got ${JSON.stringify(value)}`);
      }
      out.randomSeed = value;
      continue;
    }
    const limits = LIMITS[name as keyof typeof LIMITS];
    if (!limits) throw usageError(`unknown sandbox knob "${name}"`, `known knobs: ${KNOB_NAMES.join(", ")}`);
    if (typeof value !== "number" || !Number.isFinite(value) || value < limits[0] || value > limits[1]) {
      throw usageError(
        `sandbox knob ${name} must be a number in ${limits[0]}..${limits[1]}, got ${JSON.stringify(value)}`,
      );
    }
    out[name as keyof typeof LIMITS] = value;
  }
  return out;
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
