/**
 * Region → partition → IAM/STS endpoints (pure). IAM is a global service with one endpoint per
 * partition; STS is regional. We always hand the SDK an explicit endpoint, so the `env` the caller
 * passes (not whatever `process.env` holds) decides the SDK-standard overrides.
 */
import { usageError } from "../../errors.js";

export type Partition = "aws" | "aws-us-gov" | "aws-cn";

export const DEFAULT_REGION = "us-east-1";

const REGION_RE = /^[a-z]{2,}(-[a-z]+)+-\d+$/;

export function isRegion(s: string): boolean {
  return REGION_RE.test(s);
}

/** The partition of a region; ISO (air-gapped) partitions are not supported. */
export function partitionOf(region: string): Partition {
  if (!isRegion(region)) {
    throw usageError(
      `"${region}" is not an AWS region name`,
      "use a region such as us-east-1, eu-west-1, us-gov-west-1 or cn-north-1",
    );
  }
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-iso") || region.startsWith("eu-isoe")) {
    throw usageError(
      `region "${region}" is in an isolated AWS partition, which rekey does not support`,
      "use a region of the aws, aws-us-gov or aws-cn partition",
    );
  }
  return "aws";
}

/** The partition an ARN names (`arn:aws-cn:...`), if it is one we know. */
export function partitionOfArn(arn: string): Partition | undefined {
  const p = arn.split(":")[1];
  return p === "aws" || p === "aws-us-gov" || p === "aws-cn" ? p : undefined;
}

/** IAM signs in one region per partition, whatever region the rest of the work uses. */
export function iamSigningRegion(partition: Partition): string {
  switch (partition) {
    case "aws-cn":
      return "cn-north-1";
    case "aws-us-gov":
      return "us-gov-west-1";
    default:
      return "us-east-1";
  }
}

function defaultIamEndpoint(partition: Partition): string {
  switch (partition) {
    case "aws-cn":
      return "https://iam.cn-north-1.amazonaws.com.cn";
    case "aws-us-gov":
      return "https://iam.us-gov.amazonaws.com";
    default:
      return "https://iam.amazonaws.com";
  }
}

function defaultStsEndpoint(region: string, partition: Partition): string {
  return partition === "aws-cn"
    ? `https://sts.${region}.amazonaws.com.cn`
    : `https://sts.${region}.amazonaws.com`;
}

export interface ResolvedEndpoints {
  region: string;
  partition: Partition;
  /** The region IAM requests are signed for. */
  iamRegion: string;
  iam: string;
  sts: string;
  /** Where the IAM endpoint came from, for logs: "default", "--endpoint-url", "AWS_ENDPOINT_URL_IAM"... */
  iamSource: string;
  stsSource: string;
}

export interface EndpointInput {
  region: string;
  /** An explicit override for both IAM and STS (`--endpoint-url`): wins over the environment. */
  endpointUrl?: string | undefined;
  env: Record<string, string | undefined>;
}

/** Set to 1 to let a plain-http endpoint other than this machine be used (the new secret crosses in clear). */
export const ALLOW_INSECURE_ENDPOINT_ENV = "REKEY_ALLOW_INSECURE_ENDPOINT";

/** 127.0.0.0/8, ::1 and localhost: plain http there never leaves this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "[::1]" || h === "::1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function checkUrl(url: string, where: string, env: Record<string, string | undefined>): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`${where} "${url}" is not a URL`, "give a URL such as http://127.0.0.1:4566");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw usageError(
      `${where} "${url}" must be an http or https URL`,
      "give a URL such as https://host:port",
    );
  }
  // CreateAccessKey's answer holds the new secret: over plain http it would cross the network in clear
  // (and the request signatures with it), readable and changeable by anyone on the path.
  if (u.protocol === "http:" && !isLoopbackHost(u.hostname) && env[ALLOW_INSECURE_ENDPOINT_ENV] !== "1") {
    throw usageError(
      `${where} http://${u.host} is plain http to another machine: a new secret key would cross the network in clear`,
      `use https://${u.host}, or set ${ALLOW_INSECURE_ENDPOINT_ENV}=1 if that network is trusted`,
    );
  }
  return url.replace(/\/+$/, "");
}

/**
 * Endpoints in the SDK's precedence, with the explicit option first: `endpointUrl` →
 * `AWS_ENDPOINT_URL_<SERVICE>` → `AWS_ENDPOINT_URL` → the partition's default.
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns the environment variables off, as in the SDK.
 * A plain-http endpoint other than loopback is refused unless `REKEY_ALLOW_INSECURE_ENDPOINT=1`.
 */
export function resolveEndpoints(input: EndpointInput): ResolvedEndpoints {
  const partition = partitionOf(input.region);
  const ignoreEnv = input.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true";
  const pick = (service: "IAM" | "STS", fallback: string): [string, string] => {
    if (input.endpointUrl)
      return [checkUrl(input.endpointUrl, "--endpoint-url", input.env), "--endpoint-url"];
    if (!ignoreEnv) {
      const specific = input.env[`AWS_ENDPOINT_URL_${service}`];
      if (specific)
        return [checkUrl(specific, `AWS_ENDPOINT_URL_${service}`, input.env), `AWS_ENDPOINT_URL_${service}`];
      const general = input.env.AWS_ENDPOINT_URL;
      if (general) return [checkUrl(general, "AWS_ENDPOINT_URL", input.env), "AWS_ENDPOINT_URL"];
    }
    return [fallback, "default"];
  };
  const [iam, iamSource] = pick("IAM", defaultIamEndpoint(partition));
  const [sts, stsSource] = pick("STS", defaultStsEndpoint(input.region, partition));
  return {
    region: input.region,
    partition,
    iamRegion: iamSigningRegion(partition),
    iam,
    sts,
    iamSource,
    stsSource,
  };
}
