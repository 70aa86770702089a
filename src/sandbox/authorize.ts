/**
 * Authorization of an authenticated principal, with AWS's AccessDenied wording:
 *   "User: ARN is not authorized to perform: iam:X on resource: user NAME because no
 *    identity-based policy allows the iam:X action" (or "with an explicit deny in an identity-based
 *    policy"). The account root may do anything in its own account.
 */
import type { Principal } from "./auth.js";
import { accessDenied } from "./errors.js";
import { type Decision, evaluatePolicies } from "./policy-eval.js";
import { isoDate } from "./query-protocol.js";
import type { SandboxState } from "./state.js";

/** A resource as policies see it (ARN) and as AccessDenied messages name it ("user alice"). */
export interface ResourceRef {
  arn: string;
  label: string;
}

/** The condition keys of a request (names lowercased), also used for policy variables. */
export function requestContext(
  principal: Principal,
  now: number,
  extra: { region: string; sourceIp?: string },
): Map<string, string> {
  const ctx = new Map<string, string>([
    ["aws:principalarn", principal.kind === "assumed-role" ? principal.role.arn : principal.arn],
    ["aws:principalaccount", principal.account.accountId],
    ["aws:userid", principal.userId],
    ["aws:currenttime", isoDate(now)],
    ["aws:epochtime", String(Math.floor(now / 1000))],
    ["aws:securetransport", "false"],
    ["aws:requestedregion", extra.region],
    ["aws:multifactorauthpresent", "false"],
  ]);
  if (extra.sourceIp !== undefined) ctx.set("aws:sourceip", extra.sourceIp);
  if (principal.kind === "user") {
    ctx.set("aws:username", principal.user.userName);
    ctx.set("aws:principaltype", "User");
  } else if (principal.kind === "assumed-role") {
    ctx.set("aws:principaltype", "AssumedRole");
    ctx.set("sts:rolesessionname", principal.session.sessionName);
  } else {
    ctx.set("aws:principaltype", "Account");
  }
  return ctx;
}

export function deniedMessage(
  principal: Principal,
  action: string,
  resourceLabel: string | undefined,
  reason: string | undefined,
): string {
  const on = resourceLabel === undefined ? "" : ` on resource: ${resourceLabel}`;
  return `User: ${principal.arn} is not authorized to perform: ${action}${on}${reason ? ` ${reason}` : ""}`;
}

function reasonFor(decision: Decision, action: string, kind: "identity-based" | "session"): string {
  return decision === "ExplicitDeny"
    ? `with an explicit deny in ${kind === "session" ? "a session" : "an identity-based"} policy`
    : `because no ${kind} policy allows the ${action} action`;
}

/** The identity-policy decision for a principal (root: always Allow in its own account). */
export function identityDecision(
  state: SandboxState,
  principal: Principal,
  action: string,
  resourceArn: string | undefined,
  context: ReadonlyMap<string, string>,
): { decision: Decision; reason?: string } {
  if (principal.kind === "root") return { decision: "Allow" };
  const owner = principal.kind === "user" ? principal.user : principal.role;
  const request = { action, ...(resourceArn !== undefined ? { resource: resourceArn } : {}), context };
  const decision = evaluatePolicies(state.policiesOf(principal.account, owner), request);
  if (decision !== "Allow") return { decision, reason: reasonFor(decision, action, "identity-based") };
  const sessionPolicy = principal.kind === "assumed-role" ? principal.session.sessionPolicy : undefined;
  if (sessionPolicy) {
    const s = evaluatePolicies([sessionPolicy.doc], request);
    if (s !== "Allow") return { decision: s, reason: reasonFor(s, action, "session") };
  }
  return { decision: "Allow" };
}

/** Throws AccessDenied unless the principal may perform `action` on `resource`. */
export function authorize(
  state: SandboxState,
  principal: Principal,
  action: string,
  resource: ResourceRef | undefined,
  context: ReadonlyMap<string, string>,
): void {
  const { decision, reason } = identityDecision(state, principal, action, resource?.arn, context);
  if (decision !== "Allow") throw accessDenied(deniedMessage(principal, action, resource?.label, reason));
}
