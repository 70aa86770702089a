/**
 * The one registry of rekey's commands. Each entry declares its arguments and options (cheap) and
 * loads its implementation only when run (lazy import), so `rekey` starts fast whatever it does.
 */
import { KNOB_FLAGS } from "../sandbox/knobs.js";
import type { CommandContext } from "./context.js";
import { ROTATE_SHARED_OPTIONS } from "./rotate-option-specs.js";

export interface OptionSpec {
  /** Commander flags, e.g. "--type <type>" or "--json". */
  flags: string;
  description: string;
  default?: string | boolean | string[];
  /** Repeatable option collecting values into an array. */
  repeatable?: boolean;
}

export type CommandRun = (
  ctx: CommandContext,
  args: string[],
  opts: Record<string, unknown>,
) => Promise<void>;

export interface CommandSpec {
  /** Words after `rekey`, e.g. ["record", "add"]. */
  path: string[];
  /** Positional arguments in Commander syntax, e.g. ["<record>", "[field]"]. */
  args?: string[];
  summary: string;
  options?: OptionSpec[];
  load: () => Promise<{ run: CommandRun }>;
}

const json: OptionSpec = { flags: "--json", description: "print JSON" };

export const COMMANDS: CommandSpec[] = [
  {
    path: ["init"],
    summary: "create a new encrypted vault in $REKEY_HOME (default ~/.rekey)",
    options: [
      {
        flags: "--key-file <path>",
        description: "also create a key file that unlocks the vault without the passphrase",
      },
      {
        flags: "--use-existing-key-file",
        description:
          "the key file already exists: use it (without this flag an existing key file is refused)",
      },
      {
        flags: "--no-passphrase",
        description: "protect the vault with the key file only (needs --key-file or REKEY_KEY_FILE)",
      },
    ],
    load: () => import("./commands/init.js"),
  },
  {
    path: ["record", "add"],
    summary: "add a record",
    options: [
      {
        flags: "--type <type>",
        description: "record type (pamUser, pamAwsConfiguration, login, ...)",
        default: "pamUser",
      },
      { flags: "--title <title>", description: "record title (required)" },
      { flags: "--folder <folder>", description: "folder UID or name to put it in" },
      { flags: "--set <field=value>", description: "set a non-secret field (repeatable)", repeatable: true },
      {
        flags: "--secret <field>",
        description: "set a secret field from stdin, one line per --secret, in order (repeatable)",
        repeatable: true,
      },
      { flags: "--notes <text>", description: "notes" },
      { flags: "--from-json", description: "read the whole record (Keeper v3 JSON) from stdin" },
      json,
    ],
    load: () => import("./commands/record-add.js"),
  },
  {
    path: ["record", "list"],
    summary: "list records (titles, types, UIDs; never secrets)",
    options: [{ flags: "--type <type>", description: "only records of this type" }, json],
    load: () => import("./commands/record-list.js"),
  },
  {
    path: ["record", "show"],
    args: ["<record>"],
    summary: "show a record (secret fields masked unless --reveal)",
    options: [{ flags: "--reveal", description: "show secret values" }, json],
    load: () => import("./commands/record-show.js"),
  },
  {
    path: ["record", "get"],
    args: ["<record>", "<field>"],
    summary: "print one field's raw value (for scripts)",
    load: () => import("./commands/record-get.js"),
  },
  {
    path: ["record", "edit"],
    args: ["<record>"],
    summary: "change a record's fields, title or notes",
    options: [
      { flags: "--set <field=value>", description: "set a non-secret field (repeatable)", repeatable: true },
      {
        flags: "--secret <field>",
        description: "set a secret field from stdin, one line per --secret, in order (repeatable)",
        repeatable: true,
      },
      { flags: "--unset <field>", description: "remove a field (repeatable)", repeatable: true },
      { flags: "--title <title>", description: "new title" },
      { flags: "--notes <text>", description: "new notes" },
      { flags: "--from-json", description: "replace the whole record with Keeper v3 JSON read from stdin" },
    ],
    load: () => import("./commands/record-edit.js"),
  },
  {
    path: ["record", "rm"],
    args: ["<record>"],
    summary: "delete a record (its history is kept)",
    load: () => import("./commands/record-rm.js"),
  },
  {
    path: ["record", "history"],
    args: ["<record>"],
    summary: "list a record's saved versions, or show one with --version",
    options: [
      { flags: "--version <n>", description: "show this version" },
      { flags: "--reveal", description: "show secret values of the version" },
      json,
    ],
    load: () => import("./commands/record-history.js"),
  },
  {
    path: ["record", "convert"],
    args: ["<record>"],
    summary: "change a record's type (e.g. the imported template, login → pamUser)",
    options: [{ flags: "--type <type>", description: "the new type", default: "pamUser" }],
    load: () => import("./commands/record-convert.js"),
  },
  {
    path: ["folder", "add"],
    args: ["<name>"],
    summary: "create a folder (shared folder unless --parent is given)",
    options: [{ flags: "--parent <folder>", description: "parent folder UID or name (makes a sub-folder)" }],
    load: () => import("./commands/folder-add.js"),
  },
  {
    path: ["folder", "list"],
    summary: "list folders",
    options: [json],
    load: () => import("./commands/folder-list.js"),
  },
  {
    path: ["import", "csv"],
    args: ["<file>"],
    summary: "import records from a Keeper Commander CSV file (all or nothing; one record per IAM user)",
    options: [
      {
        flags: "--update",
        description:
          "update the record that already manages a row's IAM user (or has its $record_uid) in place, keeping its UID, history, scripts and current key",
      },
      json,
    ],
    load: () => import("./commands/import-csv.js"),
  },
  {
    path: ["export", "csv"],
    summary: "export records as Keeper Commander CSV (holds secrets: --out writes a 0600 file)",
    options: [
      { flags: "--out <file>", description: "write to this file (mode 0600) instead of stdout" },
      { flags: "--type <type>", description: "only records of this type" },
      {
        flags: "--raw",
        description: "do not quote cells a spreadsheet would run as formulas (=, +, -, @, tab, CR)",
      },
    ],
    load: () => import("./commands/export-csv.js"),
  },
  {
    path: ["template", "aws-user"],
    summary: "print the seed's PAM User template as Keeper Commander CSV",
    options: [
      {
        flags: "--login <user>",
        description: "IAM user name to put in the template",
        default: "iam-user-name",
      },
      {
        flags: "--title <title>",
        description: "record title",
        default: "AWS IAM user access key (template)",
      },
    ],
    load: () => import("./commands/template-aws-user.js"),
  },
  {
    path: ["audit", "list"],
    summary: "list audit events",
    options: [
      { flags: "--record <record>", description: "only events of this record" },
      { flags: "--limit <n>", description: "at most this many (newest)" },
      json,
    ],
    load: () => import("./commands/audit-list.js"),
  },
  {
    path: ["audit", "verify"],
    summary:
      "check the audit log's hash chain and every row against the vault's signed head (edited, deleted or rolled-back entries and rows)",
    options: [
      {
        flags: "--expect-head <line>",
        description:
          "also fail (exit 6) when the vault is older than, or not a continuation of, this head (from `rekey audit head`)",
      },
      { flags: "--head-file <file>", description: "like --expect-head, the line read from FILE" },
      json,
    ],
    load: () => import("./commands/audit-verify.js"),
  },
  {
    path: ["audit", "head"],
    summary:
      "print the vault's signed head (one line, no secret) to keep elsewhere: `audit verify --expect-head` then detects a rolled-back file",
    options: [json],
    load: () => import("./commands/audit-head.js"),
  },
  {
    path: ["vault", "add-key-file"],
    args: ["<path>"],
    summary: "let a key file unlock the vault (created 0600): fast unlock for gateways, no passphrase KDF",
    options: [
      {
        flags: "--use-existing-key-file",
        description:
          "the key file already exists: use it (without this flag an existing key file is refused)",
      },
      json,
    ],
    load: () => import("./commands/vault-add-key-file.js"),
  },
  {
    path: ["rotate"],
    args: ["[record]"],
    summary:
      "rotate the access key of the IAM user a pamUser record names (or many: --all, --folder, --older-than, --due)",
    options: [
      {
        flags: "--all",
        description: "every record that manages an IAM user (pamUser, or the seed's template)",
      },
      {
        flags: "--folder <folder>",
        description: "the records in this folder (UID or name), sub-folders included",
      },
      {
        flags: "--older-than <age>",
        description: "only records whose current key is older than this (e.g. 90d), or that hold none",
      },
      {
        flags: "--due",
        description: "only records whose schedule says they are due now (as `rekey status`)",
      },
      { flags: "--concurrency <n>", description: "with several records: rotations at once (default 4)" },
      {
        flags: "--strategy <strategy>",
        description: "create-then-delete | delete-then-create | graceful (default: the record's setting)",
      },
      { flags: "--verify", description: "prove the new key works before old keys go (default for graceful)" },
      { flags: "--no-verify", description: "skip verification (even for graceful)" },
      {
        flags: "--dry-run",
        description: "print the plan (credential source, keys to create, delete, deactivate); change nothing",
      },
      { flags: "--no-scripts", description: "do not run the record's post-rotation scripts" },
      {
        flags: "--config <file>",
        description: "gateway config file for webhooks and script timeout (default REKEY_GATEWAY_CONFIG)",
      },
      ...ROTATE_SHARED_OPTIONS,
      json,
    ],
    load: () => import("./commands/rotate.js"),
  },
  {
    path: ["repair"],
    args: ["[records...]"],
    summary: "finish or undo interrupted rotations; delete graceful keys past their grace",
    options: [...ROTATE_SHARED_OPTIONS, json],
    load: () => import("./commands/repair.js"),
  },
  {
    path: ["keeper-script"],
    summary:
      "run as the Keeper Gateway's post-rotation script (reads its base64 line on stdin; saves to Keeper)",
    options: [
      {
        flags: "--ksm-config <path>",
        description:
          "KSM config (default: KSM_CONFIG_FILE, else GATEWAY_CONFIG, else /etc/keeper-gateway/gateway-config.json, else ~/.keeper/gateway-config.json)",
      },
      { flags: "-v, --verbose", description: "log each step to stderr (never secrets)" },
      {
        flags: "--transactional-save",
        description: "save inside a KSM rotation transaction (default: a plain update, as the seed)",
      },
      {
        flags: "--check",
        description: "prove what a rotation needs and change nothing (exit 1 if a check fails)",
      },
      { flags: "--record <uid>", description: "with --check: the PAM User record, instead of stdin" },
      json,
    ],
    load: () => import("./commands/keeper-script.js"),
  },
  {
    path: ["policy"],
    summary: "print the least-privilege IAM policy rekey needs",
    options: [
      { flags: "--strategy <strategy>", description: "the strategy to allow", default: "create-then-delete" },
      { flags: "--account <id>", description: "restrict to this 12-digit AWS account (default: any)" },
      { flags: "--partition <partition>", description: "aws | aws-us-gov | aws-cn", default: "aws" },
      {
        flags: "--no-user-id-check",
        description: "leave out iam:GetUser (the UserId check is then skipped)",
      },
      {
        flags: "--no-last-use-check",
        description:
          "leave out iam:GetAccessKeyLastUsed (an old key still in use is then deleted without being held)",
      },
      {
        flags: "--adopt",
        description: "allow adopting users (deactivates the keys found: iam:UpdateAccessKey)",
      },
      { flags: "--discover", description: "allow `rekey discover` (iam:ListUsers)" },
    ],
    load: () => import("./commands/policy.js"),
  },
  {
    path: ["demo"],
    summary: "the main job end to end: sandbox IAM + vault + two rotations (nothing leaves this machine)",
    options: [
      { flags: "--home <dir>", description: "REKEY_HOME to use (default: a fresh temporary directory)" },
      { flags: "--strategy <strategy>", description: "rotation strategy", default: "create-then-delete" },
      json,
    ],
    load: () => import("./commands/demo.js"),
  },
  {
    path: ["gateway"],
    summary: "rotate every scheduled pamUser record when due, run its post-rotation scripts (until SIGTERM)",
    options: [
      {
        flags: "--config <file>",
        description: "JSON settings file (also REKEY_GATEWAY_CONFIG); webhooks go here",
      },
      { flags: "--endpoint-url <url>", description: "IAM and STS endpoint (e.g. the sandbox)" },
      { flags: "--region <region>", description: "AWS region for every rotation (default: each record's)" },
      { flags: "--tick <seconds>", description: "how often to look for due records (default 30)" },
      { flags: "--once", description: "repair, run what is due now (and --rotate), wait for it, exit" },
      {
        flags: "--rotate <record>",
        description: "also rotate this record now, whatever its schedule (repeatable)",
        repeatable: true,
      },
      { flags: "--max-concurrent <n>", description: "rotations at once overall (default 32)" },
      { flags: "--max-per-account <n>", description: "rotations at once per AWS account (default 16)" },
      { flags: "--jitter <seconds>", description: "spread scheduled runs by up to this much (default 60)" },
      { flags: "--script-timeout <seconds>", description: "per post-rotation script (default 300)" },
      {
        flags: "--shutdown-timeout <seconds>",
        description: "on SIGTERM, wait this long for running rotations (default 120)",
      },
      { flags: "--verify", description: "prove each new key works before old keys go" },
      { flags: "--no-verify", description: "skip verification (even for graceful)" },
      { flags: "--verify-timeout <seconds>", description: "give up verifying a new key after this long" },
      {
        flags: "--listen <host:port>",
        description:
          "serve the HTTP API, dashboard and /metrics (loopback unless TLS; token: REKEY_API_TOKEN)",
      },
      {
        flags: "--api-token-file <file>",
        description: "API tokens, NAME:TOKEN per line (the name is the audit actor)",
      },
      { flags: "--tls-cert <file>", description: "with --listen: serve HTTPS with this PEM certificate" },
      { flags: "--tls-key <file>", description: "with --listen: and this PEM key" },
      { flags: "--public-metrics", description: "with --listen on loopback: /metrics without a token" },
      { flags: "-v, --verbose", description: "debug logs to stderr (never secrets)" },
      json,
    ],
    load: () => import("./commands/gateway.js"),
  },
  {
    path: ["record", "schedule"],
    args: ["<record>", "<schedule>"],
    summary:
      'set the rotation schedule: "every 12h", a cron, Keeper schedule JSON, "none", or "inherit" (the configuration\'s)',
    options: [{ flags: "--tz <zone>", description: "time zone of a cron schedule (default Etc/UTC)" }, json],
    load: () => import("./commands/record-schedule.js"),
  },
  {
    path: ["record", "script", "add"],
    args: ["<record>", "<file>"],
    summary: "attach a post-rotation script (stored in the vault) to a record",
    options: [
      { flags: "--command <cmd>", description: 'the interpreter, e.g. "node", "python3" (required)' },
      {
        flags: "--attach <record>",
        description: "a record handed to the script in `records` (repeatable)",
        repeatable: true,
      },
      json,
    ],
    load: () => import("./commands/record-script-add.js"),
  },
  {
    path: ["record", "script", "list"],
    args: ["<record>"],
    summary: "list a record's post-rotation scripts in run order",
    options: [json],
    load: () => import("./commands/record-script-list.js"),
  },
  {
    path: ["record", "script", "rm"],
    args: ["<record>", "<script>"],
    summary: "detach a post-rotation script (by position or file UID)",
    options: [json],
    load: () => import("./commands/record-script-rm.js"),
  },
  {
    path: ["history"],
    args: ["[record]"],
    summary: "rotation attempts recorded by the gateway (trigger, outcome, key ids, scripts, errors)",
    options: [
      { flags: "--limit <n>", description: "at most this many (newest)" },
      { flags: "--scripts", description: "show each script's result and (redacted) output" },
      json,
    ],
    load: () => import("./commands/history.js"),
  },
  {
    path: ["status"],
    summary: "managed users: key id and age, schedule, last and next rotation, last outcome",
    options: [json],
    load: () => import("./commands/status.js"),
  },
  {
    path: ["sandbox"],
    summary: "run a local AWS IAM/STS endpoint (for tests, demos and benchmarks)",
    options: [
      { flags: "--host <host>", description: "address to bind", default: "127.0.0.1" },
      { flags: "--port <port>", description: "port (0: any free port)", default: "4599" },
      { flags: "--seed <file>", description: "JSON file with accounts, users, keys, policies to start with" },
      { flags: "--state <file>", description: "persist state in this file (mode 0600) across restarts" },
      // Every knob with a flag, from the one knob definition (src/sandbox/knobs.ts).
      ...KNOB_FLAGS.map(({ flags, description }) => ({ flags, description })),
    ],
    load: () => import("./commands/sandbox.js"),
  },
  {
    path: ["credential-process"],
    args: ["<record>"],
    summary:
      "print the record's current key as AWS credential_process JSON (for ~/.aws/config; audited, never logged)",
    options: [
      {
        flags: "--ttl <duration>",
        description: "how long SDKs may cache the key before asking again (Expiration), default 15m",
      },
    ],
    load: () => import("./commands/credential-process.js"),
  },
  {
    path: ["aws-profile", "add"],
    args: ["<profile>", "<record>"],
    summary:
      "write an AWS config profile whose credential_process is `rekey credential-process RECORD` (never the secret)",
    options: [
      {
        flags: "--config-file <path>",
        description: "the AWS config file (default AWS_CONFIG_FILE, else ~/.aws/config)",
      },
      { flags: "--region <region>", description: "also set the profile's region" },
      {
        flags: "--ttl <duration>",
        description:
          "the credential-process --ttl written into the profile (how long SDKs cache the key), default 15m",
      },
      { flags: "--force", description: "replace the profile if it exists" },
      json,
    ],
    load: () => import("./commands/aws-profile-add.js"),
  },
  {
    path: ["exec"],
    args: ["<record>", "<command...>"],
    summary:
      "run a command with the record's current key in its environment only (rekey exec RECORD -- CMD ARGS...)",
    options: [{ flags: "--region <region>", description: "also set AWS_REGION / AWS_DEFAULT_REGION" }],
    load: () => import("./commands/exec.js"),
  },
  {
    path: ["env"],
    args: ["<record>"],
    summary: "print `export AWS_ACCESS_KEY_ID=...` lines for eval (refuses a terminal unless --force)",
    options: [
      { flags: "--region <region>", description: "also export AWS_REGION / AWS_DEFAULT_REGION" },
      { flags: "--force", description: "print to a terminal anyway" },
    ],
    load: () => import("./commands/env.js"),
  },
  {
    path: ["discover"],
    summary:
      "list the account's IAM users and their keys (last use, managed or not); --import adopts the unmanaged ones",
    options: [
      { flags: "--credentials <record>", description: "admin credential record (default: the usual order)" },
      { flags: "--path-prefix <prefix>", description: "only IAM users under this path, e.g. /apps/" },
      { flags: "--endpoint-url <url>", description: "IAM and STS endpoint (e.g. the sandbox)" },
      { flags: "--region <region>", description: "AWS region (partition) to use" },
      {
        flags: "--import",
        description: "create a pamUser record for each unmanaged user (no secret needed)",
      },
      { flags: "--folder <folder>", description: "with --import: put the records in this folder" },
      { flags: "--schedule <schedule>", description: "with --import: the records' rotation schedule" },
      json,
    ],
    load: () => import("./commands/discover.js"),
  },
  {
    path: ["vault", "backup"],
    args: ["<file>"],
    summary: "write a consistent copy of the live vault to FILE (mode 0600; safe while a gateway runs)",
    options: [{ flags: "--force", description: "replace FILE if it exists" }, json],
    load: () => import("./commands/vault-backup.js"),
  },
  {
    path: ["vault", "restore"],
    args: ["<file>"],
    summary: "replace the vault with a backup, after checking it opens and is intact (the old vault is kept)",
    options: [{ flags: "--force", description: "restore although a gateway or rotation holds a lock" }, json],
    load: () => import("./commands/vault-restore.js"),
  },
  {
    path: ["record", "restore"],
    args: ["<record>"],
    summary: "bring an old version of a record back as a new revision (keeps the key IAM has now)",
    options: [
      { flags: "--version <n>", description: "the version to restore (see rekey record history)" },
      json,
    ],
    load: () => import("./commands/record-restore.js"),
  },
  {
    path: ["completion"],
    args: ["<shell>"],
    summary: "print a shell completion script: bash or zsh (e.g. source <(rekey completion bash))",
    load: () => import("./commands/completion.js"),
  },
  {
    path: ["vault", "copy"],
    summary:
      "copy the whole vault (records, UIDs, history, audit, journal, rotation history, scripts) to another backend, verified",
    options: [
      {
        flags: "--to <vault>",
        description:
          "the target: postgres://USER@HOST:PORT/DB (password from PGPASSWORD / ~/.pgpass) or a SQLite file path",
      },
      {
        flags: "--force",
        description: "copy into a target that already holds records (never a different vault)",
      },
      json,
    ],
    load: () => import("./commands/vault-copy.js"),
  },
  {
    path: ["report"],
    summary:
      "compliance report from IAM itself: every user's keys, age, last use, managed or not, CIS 1.14 verdict (old active keys)",
    options: [
      {
        flags: "--max-age <age>",
        description: "the key age limit (CIS AWS Foundations 1.14)",
        default: "90d",
      },
      { flags: "--format <format>", description: "table | json | csv | html", default: "table" },
      { flags: "--out <file>", description: "write to FILE (mode 0600) instead of stdout" },
      { flags: "--fail-on-violation", description: "exit 9 when a key violates the limit (for CI jobs)" },
      { flags: "--credentials <record>", description: "admin credential record (default: the usual order)" },
      { flags: "--path-prefix <prefix>", description: "only IAM users under this path" },
      { flags: "--endpoint-url <url>", description: "IAM and STS endpoint (e.g. the sandbox)" },
      { flags: "--region <region>", description: "AWS region (partition) to use" },
    ],
    load: () => import("./commands/report.js"),
  },
  {
    path: ["service", "install"],
    summary:
      "print (or --write) a hardened systemd unit for the gateway, and a timer alternative for gateway --once",
    options: [
      { flags: "--user <user>", description: "the system user the gateway runs as", default: "rekey" },
      { flags: "--config <file>", description: "the gateway config file the unit passes" },
      { flags: "--timer", description: "a oneshot service + timer running `rekey gateway --once` instead" },
      { flags: "--write", description: "write the unit file(s) under /etc/systemd/system (or --dir)" },
      { flags: "--dir <dir>", description: "with --write: where to write the unit files" },
    ],
    load: () => import("./commands/service-install.js"),
  },
  {
    path: ["doctor"],
    args: ["[records...]"],
    summary:
      "prove what each record's next rotation needs (vault, credentials, IAM actions, user, key room, scripts); changes nothing",
    options: [
      { flags: "--endpoint-url <url>", description: "IAM and STS endpoint (e.g. the sandbox)" },
      { flags: "--region <region>", description: "AWS region" },
      json,
    ],
    load: () => import("./commands/doctor.js"),
  },
];
