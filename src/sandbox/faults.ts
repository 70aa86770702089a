/**
 * The faults drawn after authentication, for mutating IAM actions only: a late action or an
 * act-then-fail (the action's effect happens, its answer does not arrive). Those before it (drop,
 * latency, HTTP 500, black hole) hit any request and are drawn in server.ts.
 *
 * Pure draws from the fault PRNG, so a `randomSeed` replays the same faults. A rate of 0 draws
 * nothing, so a knob left off does not shift the draws of the others (nor existing seeded runs).
 */
import type { Knobs } from "./knobs.js";
import type { Rng } from "./random.js";

export type AfterActionFault =
  /** Carry the action out (or refuse it), then answer HTTP 500 or drop the connection instead. */
  | { kind: "answer-lost"; how: "500" | "drop" }
  /** Reset the connection now; carry the action out `delayMs` later. */
  | { kind: "late"; delayMs: number };

/** The fault drawn for an authenticated mutating IAM request. */
export function drawAfterAction(k: Readonly<Knobs>, rng: Rng): AfterActionFault | undefined {
  if (k.lateActionRate > 0 && rng() < k.lateActionRate) {
    return { kind: "late", delayMs: Math.floor(rng() * (k.lateActionDelayMs + 1)) };
  }
  if (k.actThenFailRate > 0 && rng() < k.actThenFailRate) {
    const how = k.actThenFailMode === "mixed" ? (rng() < 0.5 ? "500" : "drop") : k.actThenFailMode;
    return { kind: "answer-lost", how };
  }
  return undefined;
}
