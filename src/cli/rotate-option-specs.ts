/**
 * The options `rekey rotate` and `rekey repair` share, as the registry declares them. Apart from
 * rotate-options.ts (which parses them and creates the logger): the registry is loaded by every command, and
 * pino, which the parsing needs, need not be.
 */
import type { OptionSpec } from "./registry.js";

export const ROTATE_SHARED_OPTIONS: OptionSpec[] = [
  {
    flags: "--credentials <record>",
    description: "admin credential record (UID or title); only it is tried",
  },
  {
    flags: "--region <region>",
    description: "AWS region (default: the record's aws_region, the configuration's, us-east-1)",
  },
  {
    flags: "--endpoint-url <url>",
    description: "IAM and STS endpoint (e.g. the sandbox); AWS_ENDPOINT_URL_IAM/_STS also work",
  },
  {
    flags: "--verify-timeout <seconds>",
    description: "give up verifying the new key after this long (default 60)",
  },
  {
    flags: "--deadline <seconds>",
    description: "give up a rotation after this long, finishing or undoing the step in flight (default 600)",
  },
  {
    flags: "--force",
    description: "rotate although the IAM UserId changed; let graceful delete keys rekey does not know",
  },
  { flags: "-v, --verbose", description: "log each step to stderr (never secrets)" },
];
