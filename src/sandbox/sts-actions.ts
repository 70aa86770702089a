/**
 * STS actions: GetCallerIdentity (no permission needed, as in AWS) and AssumeRole.
 *
 * AssumeRole is allowed when the role's trust policy allows the caller (conditions such as
 * `sts:ExternalId` included) and no policy denies it; when the trust policy names only the caller's
 * account, or the role is in another account, the caller's identity policies must also allow
 * sts:AssumeRole on the role. Root credentials cannot assume roles (AWS refuses them too).
 */
import type { ActionHandler } from "./action-context.js";
import { assumedRoleArn } from "./auth.js";
import { deniedMessage, identityDecision } from "./authorize.js";
import { AwsError, accessDenied, validationError } from "./errors.js";
import { type Role, storePolicy } from "./model.js";
import { ParamReader, RULES } from "./params.js";
import { evaluateTrust, type TrustCaller } from "./policy-eval.js";
import { el, isoDate, node } from "./query-protocol.js";
import { newSecretAccessKey, newSessionToken } from "./random.js";

const getCallerIdentity: ActionHandler = (ctx) => {
  const p = ctx.principal;
  return el("UserId", p.userId) + el("Account", p.account.accountId) + el("Arn", p.arn);
};

/** Packed size of a session policy as a percentage of AWS's allowance (2048 characters, blanks not counted). */
function packedPolicySize(text: string): number {
  return Math.ceil((text.replace(/\s/g, "").length / 2048) * 100);
}

const assumeRole: ActionHandler = (ctx) => {
  const { state, principal, now } = ctx;
  const r = new ParamReader(ctx.params);
  const arn = r.string("RoleArn", { ...RULES.arn, required: true });
  const sessionName = r.string("RoleSessionName", { ...RULES.roleSessionName, required: true });
  const duration = r.int("DurationSeconds", { min: ctx.knobs.minSessionDurationSeconds, max: 43200 }) ?? 3600;
  const externalId = r.string("ExternalId", RULES.externalId);
  const policyText = r.string("Policy", RULES.sessionPolicy);
  r.done();

  if (principal.kind === "root") throw accessDenied("Roles may not be assumed by root accounts.");
  const denied = (reason?: string) => accessDenied(deniedMessage(principal, "sts:AssumeRole", arn, reason));

  const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(arn);
  const account = m ? state.accounts.get(m[1]!) : undefined;
  const role: Role | undefined = account && m ? state.findRole(account, m[2]!) : undefined;
  // A role that does not exist is indistinguishable from one that does not trust you.
  if (!account || !role || role.arn !== arn) throw denied();

  const context = new Map(ctx.context);
  if (externalId !== undefined) context.set("sts:externalid", externalId);
  context.set("sts:rolesessionname", sessionName);
  const caller: TrustCaller = {
    accountId: principal.account.accountId,
    arn: principal.arn,
    ...(principal.kind === "assumed-role" ? { roleArn: principal.role.arn } : {}),
  };
  const trust = evaluateTrust(role.trustPolicy.doc, caller, {
    action: "sts:AssumeRole",
    resource: role.arn,
    context,
  });
  const identity = identityDecision(state, principal, "sts:AssumeRole", role.arn, context);
  if (trust.decision !== "Allow") throw denied();
  if (identity.decision === "ExplicitDeny") throw denied(identity.reason);
  const namedExactly = trust.via === "exact" && account === principal.account;
  if (!namedExactly && identity.decision !== "Allow") throw denied(identity.reason);

  if (duration > role.maxSessionDuration) {
    throw validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  const chained = principal.kind === "assumed-role";
  if (chained && duration > 3600) {
    throw validationError(
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
  }
  let packed: number | undefined;
  const sessionPolicy = policyText === undefined ? undefined : storePolicy(policyText, "identity");
  if (policyText !== undefined) {
    packed = packedPolicySize(policyText);
    if (packed > 100) {
      throw new AwsError(
        "PackedPolicyTooLarge",
        `Packed policy consumes ${packed}% of allotted space, please use smaller policy.`,
        400,
      );
    }
  }

  const expiration = now + duration * 1000;
  const session = {
    accessKeyId: state.newSessionKeyId(),
    secretAccessKey: newSecretAccessKey(),
    sessionToken: newSessionToken(),
    expiration,
    accountId: account.accountId,
    roleName: role.roleName,
    sessionName,
    ...(sessionPolicy ? { sessionPolicy } : {}),
    chained,
  };
  state.addSession(session);
  role.lastUsed = { date: now, region: ctx.region };

  const credentials =
    el("AccessKeyId", session.accessKeyId) +
    el("SecretAccessKey", session.secretAccessKey) +
    el("SessionToken", session.sessionToken) +
    el("Expiration", isoDate(expiration));
  const user =
    el("AssumedRoleId", `${role.roleId}:${sessionName}`) +
    el("Arn", assumedRoleArn(account.accountId, role.roleName, sessionName));
  return node("Credentials", credentials) + node("AssumedRoleUser", user) + el("PackedPolicySize", packed);
};

export const stsActions: Readonly<Record<string, ActionHandler>> = {
  GetCallerIdentity: getCallerIdentity,
  AssumeRole: assumeRole,
};
