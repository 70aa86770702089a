/**
 * What an action handler gets: the authenticated principal, the request's parameters and an
 * `authorize` bound to the request's condition context. A handler returns the inner XML of its
 * `<ActionResult>` (undefined for actions without output) or throws an AwsError.
 */
import type { Principal } from "./auth.js";
import type { ResourceRef } from "./authorize.js";
import type { Knobs } from "./knobs.js";
import type { Params } from "./query-protocol.js";
import type { SandboxState } from "./state.js";

export interface ActionContext {
  state: SandboxState;
  principal: Principal;
  params: Params;
  now: number;
  /** The region of the SigV4 credential scope. */
  region: string;
  knobs: Readonly<Knobs>;
  /** Condition keys of this request (lowercased names). */
  context: ReadonlyMap<string, string>;
  /** Throws AccessDenied unless the principal may perform `action` on `resource`. */
  authorize(action: string, resource?: ResourceRef): void;
}

export type ActionHandler = (ctx: ActionContext) => string | undefined;
