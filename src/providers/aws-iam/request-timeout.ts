/**
 * A deadline on every AWS request. Without one a hung endpoint (a request read and never answered,
 * a half-open connection) hangs the rotation forever: the SDK's own `requestTimeout` only logs a
 * warning unless `throwOnRequestTimeout` is set, and even then it stops counting once the answer's
 * headers arrive and does not cover credential resolution inside `send`.
 *
 * So each attempt races a timer and is aborted through the SDK's `abortSignal` (which destroys the
 * socket) when the timer wins. The error is a network failure to the retry layer (retried with
 * backoff when the call is idempotent, an unknown outcome for CreateAccessKey).
 */

/** Per request (per attempt, not per call with its retries). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** "10", "1.5": seconds for messages. */
export const seconds = (ms: number) => String(Math.round(ms / 100) / 10);

/** What a request that got no answer in time fails with. */
export class NoAnswerError extends Error {
  /** Read by `describeFailure` as the failure's code (a network failure). */
  readonly code = "TimeoutError";
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no answer within ${seconds(timeoutMs)} s`);
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Runs one request with a deadline: `send` gets the signal to hand to the SDK (`client.send(cmd,
 * { abortSignal })`); after `timeoutMs` it is aborted and this rejects with a NoAnswerError, even if
 * `send` ignores the signal.
 */
export async function withRequestTimeout<T>(
  send: (abortSignal: AbortSignal) => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new NoAnswerError(timeoutMs);
      reject(err);
      controller.abort(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([send(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
