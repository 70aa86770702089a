/**
 * A progress line for long work on a terminal (`rekey status` over a huge vault, `rekey import csv`,
 * `rekey gateway --once` over many users): one line on stderr, rewritten in place (`\r`, erase line), at most
 * about ten times a second, erased when the work ends. Only where a person watches it: stderr is a terminal
 * (never a pipe, a file or a log collector), and never on stdout, so `--json` output stays clean.
 *
 * `formatProgress` is the pure part (what the line says); `ProgressLine` decides when to draw and writes.
 */
import type { Logger } from "../logger.js";
import { printable } from "./printable.js";

export interface ProgressState {
  /** What is being done, e.g. "status: reading the vault". */
  label: string;
  /** Absent: a step with nothing to count (the line shows its label and the time). */
  done?: number | undefined;
  /** Unknown while it is being counted. */
  total?: number | undefined;
  /** The unit counted, plural: "records", "users". */
  unit?: string | undefined;
  /** Anything else worth a glance, e.g. "3 failed". */
  detail?: string | undefined;
}

/**
 * Thousands separators, made on first use: an Intl formatter costs about 6 ms of ICU set-up, and this module
 * is loaded by commands that never draw a line (every `rekey rotate`).
 */
let numberFormat: Intl.NumberFormat | undefined;
const number = {
  format(n: number): string {
    numberFormat ??= new Intl.NumberFormat("en-US");
    return numberFormat.format(n);
  },
};

/**
 * The line's text (no control characters; cut to `width` columns when given).
 * @example formatProgress({ label: "status", done: 1500, total: 100000, unit: "records" }, 3200)
 * // "status: 1,500 / 100,000 records (1%), 3s"
 */
export function formatProgress(p: ProgressState, elapsedMs: number, width?: number): string {
  const unit = p.unit ? ` ${p.unit}` : "";
  const parts = [p.label];
  if (p.done !== undefined) {
    parts[0] +=
      p.total === undefined
        ? `: ${number.format(p.done)}${unit}`
        : `: ${number.format(p.done)} / ${number.format(p.total)}${unit} (${percent(p.done, p.total)}%)`;
  }
  if (p.detail) parts.push(p.detail);
  parts.push(`${Math.floor(elapsedMs / 1000)}s`);
  const text = printable(parts.join(", "));
  return width !== undefined && width > 1 && text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text;
}

function percent(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((done / total) * 100));
}

/** Where the line goes: stderr, or a fake in tests. */
export interface ProgressOutput {
  write(text: string): void;
  /** Only a terminal gets a progress line. */
  isTTY?: boolean | undefined;
  /** The terminal's width, to keep the line on one row. */
  columns?: number | undefined;
}

export interface ProgressOptions {
  /** Minimum time between two draws (default 100 ms: about ten a second). */
  intervalMs?: number;
  /** Nothing is drawn before this much time has passed (default 250 ms): quick work shows no line at all. */
  delayMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** Erase the current terminal line and return to its start. */
const ERASE = "\r\x1b[2K";

export class ProgressLine {
  readonly #out: ProgressOutput;
  readonly #enabled: boolean;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #start: number;
  readonly #firstAt: number;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #state: ProgressState | undefined;
  #shown = false;

  constructor(out: ProgressOutput, opts: ProgressOptions = {}) {
    this.#out = out;
    this.#enabled = out.isTTY === true;
    this.#intervalMs = opts.intervalMs ?? 100;
    this.#now = opts.now ?? Date.now;
    this.#start = this.#now();
    this.#firstAt = this.#start + (opts.delayMs ?? 250);
  }

  /** Whether anything will ever be drawn (stderr is a terminal). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * The new state; drawn when the last draw is old enough (else at the next update). `force`: drawn now
   * (once past the initial delay), for a state that holds a while with no update after it (a long commit).
   */
  update(state: ProgressState, opts: { force?: boolean } = {}): void {
    if (!this.#enabled) return;
    this.#state = state;
    const t = this.#now();
    if (t < this.#firstAt || (!opts.force && t - this.#lastDraw < this.#intervalMs)) return;
    this.#draw(t);
  }

  /** Erase the line (the work is done, or something else is about to be written to the terminal). */
  clear(): void {
    if (!this.#shown) return;
    this.#out.write(ERASE);
    this.#shown = false;
  }

  /** Erase the line for good: later updates draw nothing. */
  end(): void {
    this.clear();
    this.#state = undefined;
  }

  /** `logger`, its lines written around the progress line instead of into it. */
  around(logger: Logger): Logger {
    if (!this.#enabled) return logger;
    const enabled = (level: string) => {
      const l = logger as Logger & { isLevelEnabled?: (level: string) => boolean };
      return typeof l.isLevelEnabled === "function" ? l.isLevelEnabled(level) : true;
    };
    const wrap =
      (level: keyof Logger) =>
      (obj: object, msg?: string): void => {
        if (!this.#shown || !enabled(level)) {
          logger[level](obj, msg);
          return;
        }
        this.clear();
        logger[level](obj, msg);
        this.#draw(this.#now());
      };
    return { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
  }

  #draw(t: number): void {
    if (!this.#state) return;
    this.#lastDraw = t;
    this.#out.write(`${ERASE}${formatProgress(this.#state, t - this.#start, this.#out.columns)}`);
    this.#shown = true;
  }
}

/**
 * The progress line of a command: on stderr when it is a terminal (and TERM is not "dumb"), else (or with
 * `off`) a line that draws nothing.
 */
export function commandProgress(
  ctx: { stderr: { write(text: string): void }; stderrIsTerminal: boolean; env: NodeJS.ProcessEnv },
  opts: ProgressOptions & { off?: boolean } = {},
): ProgressLine {
  // REKEY_PROGRESS_DELAY_MS: the initial delay (tests draw at once: a fast machine finishes in 250 ms).
  const delay = Number(ctx.env.REKEY_PROGRESS_DELAY_MS);
  return new ProgressLine(
    {
      write: (t) => ctx.stderr.write(t),
      isTTY: ctx.stderrIsTerminal && ctx.env.TERM !== "dumb" && opts.off !== true,
      columns: process.stderr.columns,
    },
    Number.isFinite(delay) && delay >= 0 ? { delayMs: delay, ...opts } : opts,
  );
}
