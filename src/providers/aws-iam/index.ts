/**
 * The AWS layer: the only folder that imports the AWS SDK. The engine uses the IAM key port
 * (`port.ts`), endpoint resolution (`endpoints.ts`) and credential opening (`credentials.ts`).
 */
export { type AdminCredentialSpec, type OpenedCredentials, openCredentials } from "./credentials.js";
export {
  DEFAULT_REGION,
  isRegion,
  type Partition,
  partitionOf,
  partitionOfArn,
  type ResolvedEndpoints,
  resolveEndpoints,
} from "./endpoints.js";
export { AwsCallError, mapAwsError } from "./errors.js";
export type {
  CallerIdentity,
  IamKeyPort,
  IamUser,
  KeyCredentials,
  KeyMeta,
  KeyStatus,
  NewKey,
  ProbeOptions,
} from "./port.js";
export { DEFAULT_RETRY, type RetryPolicy } from "./retry.js";
export { createSdkIamPort } from "./sdk-port.js";
