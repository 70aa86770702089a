/**
 * Authentication as AWS does it: who signed this request, and is the signature right?
 *
 * Order of checks, each answering like AWS:
 *   unknown / deleted key, Inactive key, key not yet propagated, wrong or missing session token
 *     → InvalidClientTokenId
 *   expired session → ExpiredToken
 *   scope date ≠ request date, clock more than 15 min off, wrong signature → SignatureDoesNotMatch
 * A long-term key's last use (date, service, region) is recorded once its signature checks out.
 */
import { accessDenied, expiredToken, invalidClientTokenId, signatureDoesNotMatch } from "./errors.js";
import type { Account, Role, Session, User } from "./model.js";
import {
  canonicalRequest,
  checkClockSkew,
  computeSignature,
  MAX_CLOCK_SKEW_MS,
  requestDate,
  type SignatureClaim,
  sha256Hex,
  signaturesEqual,
} from "./sigv4.js";
import type { SandboxState } from "./state.js";

interface PrincipalBase {
  account: Account;
  accessKeyId: string;
  arn: string;
  userId: string;
}

export interface RootPrincipal extends PrincipalBase {
  kind: "root";
}

export interface UserPrincipal extends PrincipalBase {
  kind: "user";
  user: User;
}

export interface RolePrincipal extends PrincipalBase {
  kind: "assumed-role";
  role: Role;
  session: Session;
}

export type Principal = RootPrincipal | UserPrincipal | RolePrincipal;

/** What the server received, ready for verification. */
export interface SignedRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Map<string, string>;
  body: Buffer;
  claim: SignatureClaim;
}

export const rootArn = (accountId: string) => `arn:aws:iam::${accountId}:root`;
export const assumedRoleArn = (accountId: string, roleName: string, sessionName: string) =>
  `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;

function sessionTokenMatches(expected: string, provided: string | undefined): boolean {
  if (provided === undefined) return false;
  // Equal-length digests so the comparison is constant-time whatever was sent.
  return signaturesEqual(sha256Hex(expected), sha256Hex(provided));
}

/** Finds the credential the claim names and checks it is usable now; no signature check yet. */
function resolveCredential(
  req: SignedRequest,
  state: SandboxState,
  now: number,
): { secret: string; principal: Principal } {
  const { claim } = req;
  const token = claim.securityToken ?? req.headers.get("x-amz-security-token");
  const key = state.findKey(claim.accessKeyId);
  if (key) {
    if (key.status !== "Active" || now < key.usableAfter || token !== undefined) throw invalidClientTokenId();
    const account = state.accounts.get(key.accountId);
    if (!account) throw invalidClientTokenId();
    if (key.userName === null) {
      return {
        secret: key.secretAccessKey,
        principal: {
          kind: "root",
          account,
          accessKeyId: key.accessKeyId,
          arn: rootArn(account.accountId),
          userId: account.accountId,
        },
      };
    }
    const user = state.findUser(account, key.userName);
    if (!user) throw invalidClientTokenId();
    return {
      secret: key.secretAccessKey,
      principal: {
        kind: "user",
        account,
        user,
        accessKeyId: key.accessKeyId,
        arn: user.arn,
        userId: user.userId,
      },
    };
  }
  const session = state.findSession(claim.accessKeyId);
  if (!session || !sessionTokenMatches(session.sessionToken, token)) throw invalidClientTokenId();
  if (now >= session.expiration) throw expiredToken();
  const account = state.accounts.get(session.accountId);
  const role = account && state.findRole(account, session.roleName);
  if (!account || !role) throw invalidClientTokenId();
  return {
    secret: session.secretAccessKey,
    principal: {
      kind: "assumed-role",
      account,
      role,
      session,
      accessKeyId: session.accessKeyId,
      arn: assumedRoleArn(account.accountId, role.roleName, session.sessionName),
      userId: `${role.roleId}:${session.sessionName}`,
    },
  };
}

/** Verifies the request's SigV4 signature; returns the principal or throws the AWS error. */
export function authenticate(req: SignedRequest, state: SandboxState, now: number): Principal {
  const { claim, headers } = req;
  const { amzDate, ms } = requestDate(claim, headers);
  const { secret, principal } = resolveCredential(req, state, now);

  if (claim.scopeDate !== amzDate.slice(0, 8)) {
    throw signatureDoesNotMatch(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ` +
        `'${claim.scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (claim.source === "query") {
    const expires = claim.expiresSeconds ?? 900;
    if (!Number.isFinite(expires) || expires < 1 || expires > 604800) {
      throw accessDenied("X-Amz-Expires must be between 1 and 604800 seconds");
    }
    if (ms > now + MAX_CLOCK_SKEW_MS) throw accessDenied("Request is not yet valid");
    if (now > ms + expires * 1000) throw accessDenied("Request has expired");
  } else {
    checkClockSkew(ms, now, amzDate);
  }
  if (!claim.signedHeaders.includes("host")) {
    throw signatureDoesNotMatch("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const payloadHash = sha256Hex(req.body);
  const claimedHash = headers.get("x-amz-content-sha256");
  if (claimedHash !== undefined && claimedHash !== payloadHash) {
    throw signatureDoesNotMatch(
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const canonical = canonicalRequest({
    method: req.method,
    rawPath: req.rawPath,
    rawQuery: req.rawQuery,
    headers,
    signedHeaders: claim.signedHeaders,
    payloadHash,
  });
  if (!signaturesEqual(computeSignature(secret, claim, amzDate, canonical), claim.signature)) {
    throw signatureDoesNotMatch();
  }

  if (principal.kind !== "assumed-role") {
    const key = state.findKey(principal.accessKeyId);
    if (key) {
      key.lastUsed = { date: now, service: claim.service, region: claim.region };
      state.changed();
    }
  }
  return principal;
}
