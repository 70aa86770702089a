/** The status rows every API view computes from (/records, /metrics, /report): through the deps' listing. */
import { computeStatus, type UserStatus } from "../gateway/status.js";
import type { ApiDeps } from "./app.js";

export function statusRows(deps: Pick<ApiDeps, "store" | "listing">, now: Date): Promise<UserStatus[]> {
  return computeStatus(deps.store, now, { records: deps.listing?.() });
}
