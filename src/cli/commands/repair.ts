import { RekeyError } from "../../errors.js";
import { repairRecords } from "../../rotation/index.js";
import { printJson } from "../context.js";
import type { CommandRun } from "../registry.js";
import { sharedRotateOptions } from "../rotate-options.js";
import { renderRepair } from "../rotation-view.js";

export const run: CommandRun = async (ctx, refs, opts) => {
  const records = (refs[0] as unknown as string[] | undefined) ?? [];
  const store = await ctx.asyncVault();
  const result = await repairRecords(store, {
    ...sharedRotateOptions(ctx, opts),
    ...(records.length ? { records } : {}),
  });
  if (opts.json) printJson(ctx.stdout, result);
  else ctx.stdout.write(renderRepair(result));
  if (!result.ok) {
    throw new RekeyError("aws", "some interrupted rotations could not be repaired (see above)", {
      hint: "fix the cause named for each record, then run rekey repair again",
    });
  }
};
