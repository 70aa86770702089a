import { usageError } from "../../errors.js";
import { parseStrategy, policyJson } from "../../rotation/index.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  const account = typeof opts.account === "string" ? opts.account : undefined;
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw usageError(`--account ${account} is not a 12-digit AWS account id`, "e.g. --account 123456789012");
  }
  const partition = String(opts.partition);
  if (!["aws", "aws-us-gov", "aws-cn"].includes(partition)) {
    throw usageError(`--partition ${partition} is not an AWS partition`, "use aws, aws-us-gov or aws-cn");
  }
  ctx.stdout.write(
    `${policyJson({
      strategy: parseStrategy(String(opts.strategy), "--strategy"),
      account,
      partition: partition as "aws" | "aws-us-gov" | "aws-cn",
      checkUserId: opts.userIdCheck !== false,
      checkLastUse: opts.lastUseCheck !== false,
      adopt: opts.adopt === true,
      discover: opts.discover === true,
    })}\n`,
  );
};
