/**
 * Pacing of AWS requests, as the engine sees it: before each attempt of each call (retries included)
 * `callAws` takes a ticket from the pacer, and tells the ticket how the attempt ended. The pacer (the
 * gateway's, per AWS account and service: src/gateway/pacer.ts) decides when a request may go: AWS's
 * quotas are per account and per service (IAM and STS apart), so every rotation running in one process
 * for one account shares one pace. Without a pacer requests go at once.
 */

export type AwsService = "iam" | "sts";

/** How an attempt ended, for the pacer: served (whatever the answer), throttled, or no answer at all. */
export type PaceOutcome = "served" | "throttled" | "lost";

export interface PaceTicket {
  /** Call once, when the attempt has ended. */
  done(outcome: PaceOutcome): void;
}

export interface AwsPacer {
  /** Resolves when a request to `service` may be sent. */
  take(service: AwsService): Promise<PaceTicket>;
}

/** The service an action ("iam:GetUser", "sts:GetCallerIdentity") is sent to. */
export function serviceOf(action: string): AwsService {
  return action.startsWith("sts:") ? "sts" : "iam";
}
