/**
 * The STS client (sts:GetCallerIdentity for --verify and `rekey doctor`, sts:AssumeRole for role credentials).
 * Its own file, imported with `await import()` by sdk-port.ts and credentials.ts: a rotation that neither
 * verifies nor assumes a role never loads the STS client (~3 ms of a cold start).
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { ResolvedEndpoints } from "./endpoints.js";
import { httpOptions } from "./http-options.js";
import type { AwsCredentialsInput } from "./sdk-port.js";

export { AssumeRoleCommand, GetCallerIdentityCommand, STSClient };

export function stsClient(
  endpoints: ResolvedEndpoints,
  credentials: AwsCredentialsInput,
  requestTimeoutMs?: number,
): STSClient {
  return new STSClient({
    region: endpoints.region,
    endpoint: endpoints.sts,
    credentials,
    maxAttempts: 1,
    requestHandler: httpOptions(requestTimeoutMs),
  });
}
