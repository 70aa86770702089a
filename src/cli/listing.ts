/**
 * The listing the CLI reads (`record list`, `status`): through the listing cache in $REKEY_HOME unless
 * REKEY_LISTING_CACHE=0 (vault/listing-cache.ts). One place, so both commands read it the same way.
 */
import { readEnv } from "../env.js";
import type { ListedForStatus } from "../gateway/status.js";
import { STATUS_FACTS } from "../gateway/status-facts.js";
import { rekeyHome } from "../home.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { listingCacheDir, listingPages } from "../vault/listing-cache.js";
import type { CommandContext } from "./context.js";

export function cliListing(
  ctx: Pick<CommandContext, "env">,
  store: AsyncVaultStore,
  type?: string,
): AsyncGenerator<ListedForStatus[]> {
  const dir = listingCacheDir(rekeyHome(ctx.env), readEnv(ctx.env).REKEY_LISTING_CACHE ?? true);
  // Each pamUser's status facts are derived with its summary and cached with it: `derived` is what
  // STATUS_FACTS.of returned, status facts or null.
  return listingPages(store, { dir, type, derive: STATUS_FACTS }) as AsyncGenerator<ListedForStatus[]>;
}

/**
 * Bring the listing cache up to date after a command that changed many records (`import csv`), so that the
 * next `record list` or `status` reads it instead of opening every record. `onRead`: records read so far (for
 * a progress line). Best effort: the change is made, and a listing that fails here fails again, with its
 * message, when it is asked for.
 */
export async function refreshListing(
  ctx: Pick<CommandContext, "env">,
  store: AsyncVaultStore,
  onRead?: (read: number) => void,
): Promise<void> {
  if (!store.listingCache) return; // nothing to keep (a Keeper vault lists in one request)
  let read = 0;
  try {
    for await (const page of cliListing(ctx, store)) {
      read += page.length;
      onRead?.(read);
    }
  } catch {
    // see above
  }
}
