/**
 * IAM policy documents: parsing (with AWS's MalformedPolicyDocument checks) and evaluation.
 * Pure functions. Covers what least-privilege proofs need: Allow/Deny with explicit Deny winning,
 * Action/NotAction (case-insensitive, `*` and `?`), Resource/NotResource (case-sensitive),
 * policy variables (`${aws:username}`, only in "2012-10-17" documents), the common condition
 * operators, and trust-policy principals. Not covered: permission boundaries, SCPs, resource-based
 * policies other than role trust policies, multi-valued condition keys.
 */
import { malformedPolicyDocument } from "./errors.js";

export type Effect = "Allow" | "Deny";
export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";
export type PolicyKind = "identity" | "trust";

export interface Condition {
  operator: string;
  key: string;
  values: string[];
}

export interface PrincipalSpec {
  /** "*" in the document (Principal: "*" or {"AWS": "*"}). */
  any: boolean;
  aws: string[];
  service: string[];
}

export interface Statement {
  effect: Effect;
  actions?: string[];
  notActions?: string[];
  resources?: string[];
  notResources?: string[];
  principal?: PrincipalSpec;
  conditions: Condition[];
}

export interface PolicyDocument {
  version: string;
  statements: Statement[];
}

export interface EvalRequest {
  /** "iam:CreateAccessKey" */
  action: string;
  /** The resource ARN; undefined for actions without one. */
  resource?: string;
  /** Condition keys, names lowercased ("aws:username", "sts:externalid"). */
  context: ReadonlyMap<string, string>;
}

const VERSIONS = new Set(["2012-10-17", "2008-10-17"]);

function toList(value: unknown, what: string): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
  throw malformedPolicyDocument(`Syntax errors in policy. ${what} must be a string or a list of strings.`);
}

function parsePrincipal(value: unknown): PrincipalSpec {
  if (value === "*") return { any: true, aws: [], service: [] };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformedPolicyDocument("Invalid principal in policy");
  }
  const rec = value as Record<string, unknown>;
  const aws = rec.AWS === undefined ? [] : toList(rec.AWS, "Principal AWS");
  const service = rec.Service === undefined ? [] : toList(rec.Service, "Principal Service");
  return { any: aws.includes("*"), aws, service };
}

function parseConditions(value: unknown): Condition[] {
  if (value === undefined) return [];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformedPolicyDocument("Syntax errors in policy. Condition must be an object.");
  }
  const out: Condition[] = [];
  for (const [operator, block] of Object.entries(value as Record<string, unknown>)) {
    if (typeof block !== "object" || block === null || Array.isArray(block)) {
      throw malformedPolicyDocument(`Syntax errors in policy. Condition ${operator} must be an object.`);
    }
    for (const [key, v] of Object.entries(block as Record<string, unknown>)) {
      const values = (Array.isArray(v) ? v : [v]).map((x) =>
        typeof x === "string" || typeof x === "number" || typeof x === "boolean" ? String(x) : "",
      );
      out.push({ operator, key, values });
    }
  }
  return out;
}

function parseStatement(raw: unknown, kind: PolicyKind): Statement {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw malformedPolicyDocument("Syntax errors in policy.");
  }
  const s = raw as Record<string, unknown>;
  if (s.Effect !== "Allow" && s.Effect !== "Deny") {
    throw malformedPolicyDocument(`Invalid effect: ${String(s.Effect)}`);
  }
  if (s.Action === undefined && s.NotAction === undefined) {
    throw malformedPolicyDocument("Policy statement must contain actions.");
  }
  const stmt: Statement = { effect: s.Effect, conditions: parseConditions(s.Condition) };
  if (s.Action !== undefined) stmt.actions = toList(s.Action, "Action");
  if (s.NotAction !== undefined) stmt.notActions = toList(s.NotAction, "NotAction");
  for (const a of [...(stmt.actions ?? []), ...(stmt.notActions ?? [])]) {
    if (a !== "*" && !/^[A-Za-z0-9-]+:.+$/.test(a)) {
      throw malformedPolicyDocument(
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
      );
    }
  }
  if (s.Resource !== undefined) stmt.resources = toList(s.Resource, "Resource");
  if (s.NotResource !== undefined) stmt.notResources = toList(s.NotResource, "NotResource");
  if (kind === "identity") {
    if (s.Principal !== undefined || s.NotPrincipal !== undefined) {
      throw malformedPolicyDocument("Policy document should not specify a principal.");
    }
    if (!stmt.resources && !stmt.notResources) {
      throw malformedPolicyDocument("Policy statement must contain resources.");
    }
  } else {
    if (s.Principal === undefined) throw malformedPolicyDocument("Missing required field Principal");
    stmt.principal = parsePrincipal(s.Principal);
  }
  return stmt;
}

/** Parses a policy document's JSON text; throws MalformedPolicyDocument like IAM does. */
export function parsePolicy(text: string, kind: PolicyKind): PolicyDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformedPolicyDocument("Syntax errors in policy.");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw malformedPolicyDocument("Syntax errors in policy.");
  }
  const doc = json as Record<string, unknown>;
  const version = doc.Version === undefined ? "2008-10-17" : doc.Version;
  if (typeof version !== "string" || !VERSIONS.has(version)) {
    throw malformedPolicyDocument("The policy failed legacy parsing");
  }
  if (doc.Statement === undefined) throw malformedPolicyDocument("Syntax errors in policy.");
  const raw = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return { version, statements: raw.map((s) => parseStatement(s, kind)) };
}

const regexCache = new Map<string, RegExp>();

function escapeRegex(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
}

/**
 * Wildcard match: `*` any run of characters, `?` exactly one. With `vars`, `${key}` is replaced by
 * the context value (matched literally), `${*}`, `${?}`, `${$}` stand for the literal characters,
 * and an unknown key makes the pattern match nothing (as in IAM).
 */
export function wildcardMatch(
  pattern: string,
  value: string,
  ignoreCase: boolean,
  vars?: ReadonlyMap<string, string>,
): boolean {
  const hasVars = vars !== undefined && pattern.includes("${");
  const cacheKey = `${ignoreCase ? "i" : "s"}${pattern}`;
  let re = hasVars ? undefined : regexCache.get(cacheKey);
  if (!re) {
    let source = "";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (hasVars && c === "$" && pattern[i + 1] === "{") {
        const end = pattern.indexOf("}", i);
        if (end > 0) {
          const literal = substituteVariable(pattern.slice(i + 2, end), vars);
          if (literal === undefined) return false;
          source += escapeRegex(literal).replace(/[*?]/g, "\\$&");
          i = end;
          continue;
        }
      }
      source += c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : escapeRegex(c);
    }
    re = new RegExp(`^${source}$`, ignoreCase ? "i" : "");
    if (!hasVars) {
      if (regexCache.size > 4096) regexCache.clear();
      regexCache.set(cacheKey, re);
    }
  }
  return re.test(value);
}

/** `aws:username` → its value; `aws:username, 'default'` → value or the default; `*`, `?`, `$` → themselves. */
function substituteVariable(inner: string, vars: ReadonlyMap<string, string>): string | undefined {
  const trimmed = inner.trim();
  if (trimmed === "*" || trimmed === "?" || trimmed === "$") return trimmed;
  const m = /^([^,]+?)\s*(?:,\s*'([^']*)')?$/.exec(trimmed);
  if (!m) return undefined;
  return vars.get(m[1]!.toLowerCase()) ?? m[2];
}

function substitute(text: string, vars: ReadonlyMap<string, string> | undefined): string | undefined {
  if (!vars || !text.includes("${")) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf("${", i);
    const end = start < 0 ? -1 : text.indexOf("}", start);
    if (start < 0 || end < 0) {
      out += text.slice(i);
      break;
    }
    const value = substituteVariable(text.slice(start + 2, end), vars);
    if (value === undefined) return undefined;
    out += text.slice(i, start) + value;
    i = end + 1;
  }
  return out;
}

const NEGATED = new Set([
  "StringNotEquals",
  "StringNotEqualsIgnoreCase",
  "StringNotLike",
  "ArnNotEquals",
  "ArnNotLike",
  "NumericNotEquals",
  "DateNotEquals",
]);

function compareOp(op: string, actual: string, expected: string): boolean {
  switch (op) {
    case "StringEquals":
    case "StringNotEquals":
    case "ArnEquals":
    case "ArnNotEquals":
      return actual === expected;
    case "StringEqualsIgnoreCase":
    case "StringNotEqualsIgnoreCase":
      return actual.toLowerCase() === expected.toLowerCase();
    case "StringLike":
    case "StringNotLike":
    case "ArnLike":
    case "ArnNotLike":
      return wildcardMatch(expected, actual, false);
    case "Bool":
      return actual.toLowerCase() === expected.toLowerCase();
    default:
      break;
  }
  const numeric = op.startsWith("Numeric");
  const a = numeric ? Number(actual) : Date.parse(actual);
  const e = numeric ? Number(expected) : Date.parse(expected);
  if (Number.isNaN(a) || Number.isNaN(e)) return false;
  switch (op.replace(/^(Numeric|Date)/, "")) {
    case "Equals":
    case "NotEquals":
      return a === e;
    case "LessThan":
      return a < e;
    case "LessThanEquals":
      return a <= e;
    case "GreaterThan":
      return a > e;
    case "GreaterThanEquals":
      return a >= e;
    default:
      return false;
  }
}

const KNOWN_OPERATORS = new Set([
  "StringEquals",
  "StringNotEquals",
  "StringEqualsIgnoreCase",
  "StringNotEqualsIgnoreCase",
  "StringLike",
  "StringNotLike",
  "ArnEquals",
  "ArnNotEquals",
  "ArnLike",
  "ArnNotLike",
  "Bool",
  "Null",
  ...["Numeric", "Date"].flatMap((p) =>
    ["Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan", "GreaterThanEquals"].map(
      (s) => p + s,
    ),
  ),
]);

/** One condition; an operator this evaluator does not know never matches. */
export function conditionHolds(
  cond: Condition,
  context: ReadonlyMap<string, string>,
  vars: ReadonlyMap<string, string> | undefined,
): boolean {
  let op = cond.operator;
  const colon = op.indexOf(":");
  const setOp = colon >= 0 ? op.slice(0, colon) : undefined;
  if (setOp !== undefined) op = op.slice(colon + 1);
  const ifExists = op !== "Null" && op.endsWith("IfExists");
  if (ifExists) op = op.slice(0, -"IfExists".length);
  if (!KNOWN_OPERATORS.has(op)) return false;
  const actual = context.get(cond.key.toLowerCase());
  if (op === "Null") {
    return cond.values.some((v) => v.toLowerCase() === (actual === undefined ? "true" : "false"));
  }
  if (actual === undefined) return ifExists || setOp === "ForAllValues" || NEGATED.has(op);
  const expected = cond.values
    .map((v) => (op.startsWith("String") || op.startsWith("Arn") ? substitute(v, vars) : v))
    .filter((v): v is string => v !== undefined);
  const any = expected.some((e) => compareOp(op, actual, e));
  return NEGATED.has(op) ? !any : any;
}

function matchesAny(
  patterns: readonly string[],
  value: string,
  ignoreCase: boolean,
  vars?: ReadonlyMap<string, string>,
) {
  for (const p of patterns) if (wildcardMatch(p, value, ignoreCase, vars)) return true;
  return false;
}

/** Does the statement cover this request (action, resource, conditions)? Principal is not looked at. */
export function statementApplies(stmt: Statement, req: EvalRequest, version: string): boolean {
  const vars = version === "2012-10-17" ? req.context : undefined;
  if (stmt.actions && !matchesAny(stmt.actions, req.action, true)) return false;
  if (stmt.notActions && matchesAny(stmt.notActions, req.action, true)) return false;
  if (req.resource !== undefined) {
    if (stmt.resources && !matchesAny(stmt.resources, req.resource, false, vars)) return false;
    if (stmt.notResources && matchesAny(stmt.notResources, req.resource, false, vars)) return false;
  }
  for (const c of stmt.conditions) if (!conditionHolds(c, req.context, vars)) return false;
  return true;
}

/** Identity-policy evaluation: an explicit Deny anywhere wins, else any Allow, else implicit deny. */
export function evaluatePolicies(policies: readonly PolicyDocument[], req: EvalRequest): Decision {
  let allowed = false;
  for (const doc of policies) {
    for (const stmt of doc.statements) {
      if (!statementApplies(stmt, req, doc.version)) continue;
      if (stmt.effect === "Deny") return "ExplicitDeny";
      allowed = true;
    }
  }
  return allowed ? "Allow" : "ImplicitDeny";
}

/** Who is asking, as a trust policy sees it. */
export interface TrustCaller {
  accountId: string;
  /** arn:aws:iam::A:user/NAME or arn:aws:sts::A:assumed-role/ROLE/SESSION */
  arn: string;
  /** For role sessions: arn:aws:iam::A:role/ROLE */
  roleArn?: string;
}

/**
 * "exact": the principal names this caller (or "*"); "account": it names the caller's account,
 * which delegates the decision to the caller's identity policies; "none".
 */
export type PrincipalMatch = "exact" | "account" | "none";

export function matchPrincipal(spec: PrincipalSpec, caller: TrustCaller): PrincipalMatch {
  if (spec.any) return "exact";
  let best: PrincipalMatch = "none";
  for (const p of spec.aws) {
    if (p === caller.arn || (caller.roleArn !== undefined && p === caller.roleArn)) return "exact";
    if (p === caller.accountId || p === `arn:aws:iam::${caller.accountId}:root`) best = "account";
  }
  return best;
}

/** Trust-policy evaluation for sts:AssumeRole: Deny wins; an Allow says how the caller was named. */
export function evaluateTrust(
  doc: PolicyDocument,
  caller: TrustCaller,
  req: EvalRequest,
): { decision: Decision; via?: "exact" | "account" } {
  let via: "exact" | "account" | undefined;
  for (const stmt of doc.statements) {
    if (!stmt.principal) continue;
    const match = matchPrincipal(stmt.principal, caller);
    if (match === "none" || !statementApplies(stmt, req, doc.version)) continue;
    if (stmt.effect === "Deny") return { decision: "ExplicitDeny" };
    if (via !== "exact") via = match;
  }
  return via ? { decision: "Allow", via } : { decision: "ImplicitDeny" };
}
