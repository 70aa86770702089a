/**
 * IAM's eventual consistency as ListAccessKeys shows it: for `windowMs` after a change to a user's
 * keys, a list still answers the keys as they were before it. Precisely, a list at time t answers
 * the keys as they were at t - windowMs (so two quick changes show up one after the other).
 *
 * Cheap and per user: only while the window is open does a user carry a history, one shallow copy
 * of its (at most 2) keys per change, pruned on every change and every list. Keyed by the user's
 * key array, so a deleted user's history goes with it.
 */
import type { AccessKey } from "./model.js";

interface Change {
  at: number;
  /** The keys as they were just before the change (copies: status is mutable). */
  before: readonly AccessKey[];
}

export class KeyListLag {
  #windowMs = 0;
  #history = new WeakMap<readonly AccessKey[], Change[]>();

  get windowMs(): number {
    return this.#windowMs;
  }

  /** 0 turns the lag off and forgets every history. */
  set windowMs(ms: number) {
    this.#windowMs = ms;
    if (ms === 0) this.#history = new WeakMap();
  }

  /** Call just before `keys` (one owner's key array) is changed. */
  beforeChange(keys: readonly AccessKey[], now: number): void {
    if (this.#windowMs === 0) return;
    const changes = this.#live(keys, now) ?? [];
    changes.push({ at: now, before: keys.map((k) => ({ ...k })) });
    this.#history.set(keys, changes);
  }

  /** What ListAccessKeys answers at `now` for this owner's `keys`. */
  view(keys: readonly AccessKey[], now: number): readonly AccessKey[] {
    return this.#live(keys, now)?.[0]?.before ?? keys;
  }

  /** The changes still inside the window (older ones dropped); undefined when none are. */
  #live(keys: readonly AccessKey[], now: number): Change[] | undefined {
    const changes = this.#history.get(keys);
    if (!changes) return undefined;
    const cutoff = now - this.#windowMs;
    let drop = 0;
    while (drop < changes.length && changes[drop]!.at <= cutoff) drop++;
    if (drop === changes.length) {
      this.#history.delete(keys);
      return undefined;
    }
    if (drop > 0) changes.splice(0, drop);
    return changes;
  }
}
