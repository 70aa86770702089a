import { usageError } from "../../errors.js";
import type { CommandRun } from "../registry.js";

function num(opts: Record<string, unknown>, key: string, flag: string, max: number): number | undefined {
  const v = opts[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) {
    throw usageError(
      `--${flag} ${String(v)} is not a number in 0..${max}`,
      `e.g. --${flag} ${max === 1 ? "0.1" : "100"}`,
    );
  }
  return n;
}

export const run: CommandRun = async (_ctx, _args, opts) => {
  const { runSandboxCommand } = await import("../../sandbox/command.js");
  const { knobsFromFlags } = await import("../../sandbox/knobs.js");
  const port = num(opts, "port", "port", 65535);
  const o = {
    ...knobsFromFlags(opts),
    host: String(opts.host),
    ...(port !== undefined ? { port } : {}),
    ...(typeof opts.seed === "string" ? { seedFile: opts.seed } : {}),
    ...(typeof opts.state === "string" ? { stateFile: opts.state } : {}),
  } as Parameters<typeof runSandboxCommand>[0];
  await runSandboxCommand(o);
};
