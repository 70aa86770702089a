/**
 * Who holds a lease, and when it is certain that holder is dead.
 *
 * An owner string is `label@host:pid:random boot=<boot id> pidns=<pid namespace inode>`. A lease whose
 * holder is dead may be taken over before it expires, so "dead" must be certain: the same host name, the
 * same boot (after a reboot pids start over; /proc/sys/kernel/random/boot_id), the same PID namespace (a
 * container sees other pids under the same host name; /proc/self/ns/pid), and no process with that pid.
 * Anything less (another host, another boot or namespace, an older owner string without them, a platform
 * without /proc) is "maybe alive": the lease is honoured until it expires.
 *
 * Shared by the local vault's leases (sqlite-locks.ts) and the Keeper script's local state, so it must
 * not import the SQLite vault (the Keeper bundle may not reach it).
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";

/** Where this process runs, as far as pids are concerned. */
export interface PidScope {
  host: string;
  /** Linux only: undefined elsewhere (then no holder is ever judged dead before expiry). */
  bootId: string | undefined;
  pidNs: string | undefined;
}

let here: PidScope | undefined;

/** This process's scope (read once). */
export function thisPidScope(): PidScope {
  here ??= { host: hostname(), bootId: readBootId(), pidNs: readPidNs() };
  return here;
}

function readBootId(): string | undefined {
  try {
    const id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().toLowerCase();
    return /^[0-9a-f-]{16,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function readPidNs(): string | undefined {
  try {
    return String(statSync("/proc/self/ns/pid").ino);
  } catch {
    return undefined;
  }
}

/** A lease owner id unique to this process and call. */
export function newLeaseOwner(label = "rekey", randomBytesCount = 6): string {
  const s = thisPidScope();
  const scope = s.bootId && s.pidNs ? ` boot=${s.bootId} pidns=${s.pidNs}` : "";
  return `${label}@${s.host}:${process.pid}:${randomBytes(randomBytesCount).toString("hex")}${scope}`;
}

const OWNER_RE = /@([^:\s]+):(\d+):[0-9a-f]+ boot=([0-9a-f-]+) pidns=(\d+)$/;

/**
 * False only when the holder is certainly dead (see the file comment); true otherwise. `pidExists` is
 * for tests.
 */
export function holderMayBeAlive(
  owner: string,
  scope: PidScope = thisPidScope(),
  pidExists: (pid: number) => boolean = processExists,
): boolean {
  const m = OWNER_RE.exec(owner);
  if (!m || scope.bootId === undefined || scope.pidNs === undefined) return true;
  const [, host, pidText, bootId, pidNs] = m;
  if (host !== scope.host || bootId !== scope.bootId || pidNs !== scope.pidNs) return true;
  const pid = Number(pidText);
  if (pid === process.pid) return true;
  return pidExists(pid);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
