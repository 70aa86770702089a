import { awsUserTemplateCsv } from "../../templates/aws-user.js";
import type { CommandRun } from "../registry.js";

export const run: CommandRun = async (ctx, _args, opts) => {
  ctx.stdout.write(awsUserTemplateCsv({ login: String(opts.login), title: String(opts.title) }));
};
