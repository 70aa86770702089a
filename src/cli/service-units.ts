/**
 * `rekey service install`, pure: the systemd unit files for the gateway. No I/O: the command finds node's
 * and rekey's absolute paths and writes (or prints) what this returns.
 *
 * The units give the gateway only what it needs: its own user, a private state directory (/var/lib/rekey,
 * the vault and its lock: REKEY_HOME), the vault's key file as a systemd credential (a copy readable only by
 * the service, under $CREDENTIALS_DIRECTORY; never a secret in the unit, in argv or in the environment),
 * the network for AWS, and nothing else of the file system or the kernel.
 */
import { usageError } from "../errors.js";

export const UNIT_NAMES = {
  service: "rekey-gateway.service",
  once: "rekey-gateway-once.service",
  timer: "rekey-gateway-once.timer",
} as const;

/** The name of the key file's credential: REKEY_KEY_FILE=%d/<this>. */
export const KEY_CREDENTIAL = "rekey-vault-key";
export const DEFAULT_KEY_FILE = "/etc/rekey/vault.key";
export const ENV_FILE = "/etc/rekey/gateway.env";

export interface UnitInput {
  /** The system user the gateway runs as. */
  user: string;
  /** Absolute path of node (process.execPath). */
  nodePath: string;
  /** Absolute real path of rekey's entry script (bin/rekey.js). */
  entryScript: string;
  /** Absolute path of the gateway config file, if any. */
  configFile?: string | undefined;
  /** Absolute path of the vault's key file on the host (loaded as a credential). */
  keyFile: string;
}

export interface UnitFile {
  name: string;
  text: string;
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,30}\$?$/i;

/** A user name systemd (and useradd) accepts, or a usage error. */
export function checkUserName(user: string): string {
  if (!USER_NAME.test(user) || user === "root") {
    throw usageError(
      `--user "${user}" is not a system user name the gateway may run as`,
      "give a plain unprivileged user, e.g. --user rekey (create it with `useradd --system --home-dir /var/lib/rekey --shell /usr/sbin/nologin rekey`)",
    );
  }
  return user;
}

/** One word of a command line as systemd reads it: quoted when it holds a space; control characters refused. */
export function systemdWord(word: string, what: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f"\\]/.test(word) || word.includes("%") || word.includes("$")) {
    throw usageError(
      `${what} "${word}" holds a character a systemd unit would read specially (control character, quote, backslash, % or $)`,
      "install rekey and its config at a plain path, e.g. /opt/rekey and /etc/rekey/gateway.json",
    );
  }
  return /\s/.test(word) ? `"${word}"` : word;
}

/** ProtectHome=yes hides /home, /root and /run/user: a rekey installed there needs read-only instead. */
export function underHome(path: string): boolean {
  return /^\/(home|root|run\/user)(\/|$)/.test(path);
}

function execLine(i: UnitInput, extra: string[]): string {
  const words = [
    systemdWord(i.nodePath, "node's path"),
    systemdWord(i.entryScript, "rekey's path"),
    "gateway",
    ...(i.configFile ? ["--config", systemdWord(i.configFile, "--config")] : []),
    ...extra,
  ];
  return `ExecStart=${words.join(" ")}`;
}

/** The [Service] lines both units share: identity, state, credentials and the sandboxing. */
function hardening(i: UnitInput): string[] {
  const inHome = [i.nodePath, i.entryScript, i.configFile ?? "", i.keyFile].some(underHome);
  return [
    `User=${i.user}`,
    `Group=${i.user}`,
    "# The vault (REKEY_HOME) lives in the private state directory /var/lib/rekey, owned by the user above.",
    "StateDirectory=rekey",
    "StateDirectoryMode=0700",
    "Environment=REKEY_HOME=%S/rekey",
    "# The key file that unlocks the vault, as a credential: systemd hands the service a copy (mode 0400,",
    "# owned by the service's user) under $CREDENTIALS_DIRECTORY (%d); no secret is in this unit.",
    `LoadCredential=${KEY_CREDENTIAL}:${systemdWord(i.keyFile, "the key file")}`,
    `Environment=REKEY_KEY_FILE=%d/${KEY_CREDENTIAL}`,
    "# Optional settings (REKEY_LOG_LEVEL, AWS_REGION, HTTPS_PROXY...); never a secret here either.",
    `EnvironmentFile=-${ENV_FILE}`,
    "UMask=0077",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "# Only the state directory is written (StateDirectory already makes it writable; listed to be explicit).",
    "ReadWritePaths=/var/lib/rekey",
    ...(inHome
      ? [
          "# rekey (or its config or key file) is installed under a home directory: read-only, not hidden.",
          "ProtectHome=read-only",
        ]
      : ["ProtectHome=yes"]),
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "# MemoryDenyWriteExecute is deliberately not set: Node's V8 JIT writes machine code into memory and then",
    "# executes it, so W^X enforcement would kill the gateway at start-up.",
  ];
}

const HEADER = "# Written by `rekey service install`. Review it, then: systemctl daemon-reload";

/** The long-running gateway (`rekey gateway`): restarted on failure. */
export function gatewayService(i: UnitInput): UnitFile {
  const text = [
    HEADER,
    "[Unit]",
    "Description=rekey gateway: rotates AWS IAM access keys on schedule",
    "Documentation=man:systemd.exec(5)",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    execLine(i, []),
    "Restart=on-failure",
    "RestartSec=30s",
    "# A stop lets the rotation in flight finish or undo its step (the gateway's shutdown timeout).",
    "TimeoutStopSec=5min",
    "KillSignal=SIGTERM",
    ...hardening(i),
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
  return { name: UNIT_NAMES.service, text };
}

/** The timer alternative: `rekey gateway --once` (rotate what is due, then exit) every 5 minutes. */
export function onceService(i: UnitInput): UnitFile {
  const text = [
    HEADER,
    "[Unit]",
    "Description=rekey gateway --once: rotate the AWS IAM access keys that are due, then exit",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    execLine(i, ["--once"]),
    "TimeoutStartSec=15min",
    ...hardening(i),
    "",
  ].join("\n");
  return { name: UNIT_NAMES.once, text };
}

export function onceTimer(): UnitFile {
  const text = [
    HEADER,
    "[Unit]",
    `Description=Run ${UNIT_NAMES.once} every 5 minutes`,
    "",
    "[Timer]",
    "OnCalendar=*:0/5",
    "# A run missed while the machine was off happens at boot.",
    "Persistent=true",
    "RandomizedDelaySec=30s",
    `Unit=${UNIT_NAMES.once}`,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
  return { name: UNIT_NAMES.timer, text };
}

/** The unit files for the chosen mode, and the unit `systemctl enable --now` starts. */
export function unitFiles(i: UnitInput, timer: boolean): { files: UnitFile[]; enable: string } {
  return timer
    ? { files: [onceService(i), onceTimer()], enable: UNIT_NAMES.timer }
    : { files: [gatewayService(i)], enable: UNIT_NAMES.service };
}
