/**
 * The errors the sandbox answers with, as AWS spells them: code, message, HTTP status and fault type.
 * Every status and message that imitates AWS lives here, so a comparison with real AWS is one file.
 * (Misuse of the programmatic API, e.g. a bad knob value, is a RekeyError instead: see knobs.ts.)
 */

export type FaultType = "Sender" | "Receiver";

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: FaultType;

  constructor(
    code: string,
    message: string,
    status: number,
    type: FaultType = status >= 500 ? "Receiver" : "Sender",
  ) {
    super(message);
    this.name = "AwsError";
    this.code = code;
    this.status = status;
    this.type = type;
  }
}

const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. " +
  "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

export const invalidClientTokenId = () =>
  new AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403);

export const signatureDoesNotMatch = (message = SIGNATURE_MISMATCH) =>
  new AwsError("SignatureDoesNotMatch", message, 403);

export const expiredToken = () =>
  new AwsError("ExpiredToken", "The security token included in the request is expired", 403);

export const missingAuthenticationToken = () =>
  new AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403);

export const incompleteSignature = (message: string) => new AwsError("IncompleteSignature", message, 400);

export const accessDenied = (message: string) => new AwsError("AccessDenied", message, 403);

export const noSuchEntity = (message: string) => new AwsError("NoSuchEntity", message, 404);

export const entityAlreadyExists = (message: string) => new AwsError("EntityAlreadyExists", message, 409);

export const deleteConflict = (message: string) => new AwsError("DeleteConflict", message, 409);

export const limitExceeded = (message: string) => new AwsError("LimitExceeded", message, 409);

export const malformedPolicyDocument = (message: string) =>
  new AwsError("MalformedPolicyDocument", message, 400);

export const validationError = (message: string) => new AwsError("ValidationError", message, 400);

/** AWS's "N validation error(s) detected: a; b" wording for one or more parameter constraint failures. */
export function validationErrors(problems: string[]): AwsError {
  const n = problems.length;
  return validationError(`${n} validation error${n === 1 ? "" : "s"} detected: ${problems.join("; ")}`);
}

export const invalidAction = (action: string, version: string) =>
  new AwsError("InvalidAction", `Could not find operation ${action} for version ${version}`, 400);

export const missingAction = () => new AwsError("MissingAction", "Missing Action", 400);

export const throttling = () => new AwsError("Throttling", "Rate exceeded", 400);

/** IAM's 500 (modelled by the SDK as ServiceFailureException). */
export const serviceFailure = () =>
  new AwsError(
    "ServiceFailure",
    "Request processing has failed due to some unknown error, exception or failure.",
    500,
  );

/** The generic 500 of AWS Query services without a modelled failure (STS). */
export const internalFailure = () =>
  new AwsError(
    "InternalFailure",
    "The request processing has failed because of an unknown error, exception or failure.",
    500,
  );

export const keyNotFound = (accessKeyId: string) =>
  noSuchEntity(`The Access Key with id ${accessKeyId} cannot be found.`);

export const userNotFound = (userName: string) =>
  noSuchEntity(`The user with name ${userName} cannot be found.`);

export const roleNotFound = (roleName: string) =>
  noSuchEntity(`The role with name ${roleName} cannot be found.`);

export const policyNotAttachable = (arn: string) =>
  noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
