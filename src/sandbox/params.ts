/**
 * Reading Query parameters with the constraints of the IAM/STS models, reporting failures the way
 * AWS does: all of them in one ValidationError, "N validation errors detected: Value 'x' at
 * 'userName' failed to satisfy constraint: Member must …".
 */
import { validationErrors } from "./errors.js";
import type { Params } from "./query-protocol.js";

export interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  /** The regular expression, anchored by the reader; `display` is how AWS prints it. */
  pattern?: { re: RegExp; display: string };
  values?: readonly string[];
}

/** The constraints of the shapes the sandbox reads (from the IAM and STS service models). */
export const RULES = {
  userName: { min: 1, max: 128, pattern: { re: /[\w+=,.@-]+/, display: "[\\w+=,.@-]+" } },
  newUserName: { min: 1, max: 64, pattern: { re: /[\w+=,.@-]+/, display: "[\\w+=,.@-]+" } },
  roleName: { min: 1, max: 64, pattern: { re: /[\w+=,.@-]+/, display: "[\\w+=,.@-]+" } },
  policyName: { min: 1, max: 128, pattern: { re: /[\w+=,.@-]+/, display: "[\\w+=,.@-]+" } },
  accessKeyId: { min: 16, max: 128, pattern: { re: /[\w]+/, display: "[\\w]+" } },
  policyDocument: {
    min: 1,
    max: 131072,
    pattern: { re: /[\t\n\r\u0020-\u00FF]+/, display: "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" },
  },
  arn: { min: 20, max: 2048 },
  path: {
    min: 1,
    max: 512,
    pattern: {
      re: /(\u002F)|(\u002F[\u0021-\u007E]+\u002F)/,
      display: "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
    },
  },
  pathPrefix: {
    min: 1,
    max: 512,
    pattern: { re: /\u002F[\u0021-\u007F]*/, display: "\\u002F[\\u0021-\\u007F]*" },
  },
  marker: { min: 1, max: 320 },
  description: { min: 0, max: 1000 },
  status: { values: ["Active", "Inactive", "Expired"] },
  roleSessionName: { min: 2, max: 64, pattern: { re: /[\w+=,.@-]*/, display: "[\\w+=,.@-]*" } },
  externalId: { min: 2, max: 1224, pattern: { re: /[\w+=,.@:/-]*/, display: "[\\w+=,.@:\\/-]*" } },
  sessionPolicy: { min: 1, max: 2048 },
} satisfies Record<string, StringRule>;

const anchored = new Map<RegExp, RegExp>();

function fullMatch(re: RegExp, value: string): boolean {
  let a = anchored.get(re);
  if (!a) {
    a = new RegExp(`^(?:${re.source})$`, re.flags);
    anchored.set(re, a);
  }
  return a.test(value);
}

/** Collects constraint failures over several parameters; `done()` throws them as one ValidationError. */
export class ParamReader {
  readonly #params: Params;
  readonly #problems: string[] = [];

  constructor(params: Params) {
    this.#params = params;
  }

  /** `UserName` → `userName`: how AWS names a member in validation messages. */
  static member(param: string): string {
    return param.charAt(0).toLowerCase() + param.slice(1);
  }

  #fail(param: string, value: string | null, constraint: string): void {
    const shown = value === null ? "null" : `'${value}'`;
    this.#problems.push(
      `Value ${shown} at '${ParamReader.member(param)}' failed to satisfy constraint: ${constraint}`,
    );
  }

  string(param: string, rule: StringRule & { required: true }): string;
  string(param: string, rule: StringRule): string | undefined;
  string(param: string, rule: StringRule): string | undefined {
    const value = this.#params.get(param);
    if (value === null) {
      if (rule.required) this.#fail(param, null, "Member must not be null");
      return undefined;
    }
    if (rule.min !== undefined && value.length < rule.min) {
      this.#fail(param, value, `Member must have length greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && value.length > rule.max) {
      this.#fail(param, value, `Member must have length less than or equal to ${rule.max}`);
    } else if (rule.pattern && !fullMatch(rule.pattern.re, value)) {
      this.#fail(param, value, `Member must satisfy regular expression pattern: ${rule.pattern.display}`);
    } else if (rule.values && !rule.values.includes(value)) {
      this.#fail(param, value, `Member must satisfy enum value set: [${rule.values.join(", ")}]`);
    }
    return value;
  }

  int(param: string, rule: { required?: boolean; min?: number; max?: number }): number | undefined {
    const raw = this.#params.get(param);
    if (raw === null) {
      if (rule.required) this.#fail(param, null, "Member must not be null");
      return undefined;
    }
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
      this.#fail(param, raw, "Member must be an integer");
      return undefined;
    }
    if (rule.min !== undefined && value < rule.min) {
      this.#fail(param, raw, `Member must have value greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && value > rule.max) {
      this.#fail(param, raw, `Member must have value less than or equal to ${rule.max}`);
    }
    return value;
  }

  /** Throws the collected failures, if any. */
  done(): void {
    if (this.#problems.length > 0) throw validationErrors(this.#problems);
  }
}

/**
 * Marker/MaxItems pagination as IAM does it: up to MaxItems (default 100) items, IsTruncated, and an
 * opaque Marker for the next page.
 */
export function paginate<T>(items: readonly T[], marker: string | undefined, maxItems: number | undefined) {
  let start = 0;
  if (marker !== undefined) {
    const n = Number(Buffer.from(marker, "base64url").toString("utf8"));
    if (Number.isSafeInteger(n) && n >= 0) start = n;
  }
  const size = maxItems ?? 100;
  const page = items.slice(start, start + size);
  const next = start + size;
  const isTruncated = next < items.length;
  return {
    page,
    isTruncated,
    marker: isTruncated ? Buffer.from(String(next)).toString("base64url") : undefined,
  };
}
