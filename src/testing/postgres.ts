/**
 * A real PostgreSQL server for a test file: Debian's `postgresql` package (initdb, pg_ctl, postgres under
 * /usr/lib/postgresql/VERSION/bin; .ci/run installs it when missing; REKEY_PG_BIN names another bin
 * directory), started in a temp directory on 127.0.0.1 with a free port and password (scram-sha-256) auth,
 * stopped and removed after.
 *
 * PostgreSQL refuses to run as root, and tests run as root in CI: then initdb and pg_ctl run as `nobody`
 * (runuser), in a directory that user owns. Durability is off (fsync, full_page_writes, synchronous_commit):
 * the data is thrown away anyway, and start-up takes about a second.
 *
 * @example
 * let pg: PgServer;
 * before(async () => { pg = await startPostgres(); });
 * after(() => pg.stop());
 * test("...", async () => { const url = await pg.createDatabase(); ... });
 */
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface PgServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `postgres://USER:PASSWORD@127.0.0.1:PORT/DB` */
  url(database: string): string;
  /** A new, empty database (a fresh name unless given); returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Run SQL as the superuser on `database` (tests only: tamper with rows, scan tables). */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(
    database: string,
    text: string,
    params?: unknown[],
  ): Promise<R[]>;
  /** Stop the server (fast shutdown: clients are disconnected), keeping its data: a database outage. */
  halt(): Promise<void>;
  /** Start a halted server again, on the same port with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory, or undefined. */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.REKEY_PG_BIN) return existsSync(join(env.REKEY_PG_BIN, "initdb")) ? env.REKEY_PG_BIN : undefined;
  const root = "/usr/lib/postgresql";
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  const found = versions
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return found[0] === undefined ? undefined : join(root, found[0], "bin");
}

/** Who runs the server: ourselves, or `nobody` when we are root (PostgreSQL refuses root). */
function serverUser(): { prefix: string[]; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "nobody"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || !Number.isInteger(gid))
    throw new Error("no user nobody to run PostgreSQL as");
  return { prefix: ["runuser", "-u", "nobody", "--"], uid, gid };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? ok(addr.port) : fail(new Error("no port"))));
    });
  });
}

let counter = 0;

/** Start a server (see the file comment). Throws, never skips, when PostgreSQL is not installed. */
export async function startPostgres(): Promise<PgServer> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install -y postgresql " +
        "(.ci/run does), or set REKEY_PG_BIN to a directory holding initdb and pg_ctl",
    );
  }
  const as = serverUser();
  // As root, under /tmp itself: `nobody` must be able to reach the directory (TMPDIR may be root's own).
  const dir = mkdtempSync(join(as ? "/tmp" : tmpdir(), "rekey-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  const pwFile = join(dir, "pw");
  const user = "rekey";
  const password = randomBytes(12).toString("hex");
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (as) {
    chownSync(dir, as.uid, as.gid);
    chownSync(pwFile, as.uid, as.gid);
  }
  chmodSync(dir, 0o700);
  const argvOf = (tool: string, args: string[]) => {
    const [file, ...rest] = [...(as?.prefix ?? []), join(bin, tool), ...args];
    return { file: file as string, rest };
  };
  const cmd = (tool: string, args: string[]) => {
    const { file, rest } = argvOf(tool, args);
    return run(file, rest, { cwd: dir, timeout: 60_000 });
  };
  const fail = (what: string, err: unknown): never => {
    let tail = "";
    try {
      tail = readFileSync(log, "utf8").split("\n").slice(-15).join("\n");
    } catch {
      // no log yet
    }
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: string; message?: string };
    throw new Error(`${what} failed: ${e.stderr || e.message}\n${tail}`);
  };

  await cmd("initdb", [
    "-D",
    data,
    "-U",
    user,
    `--pwfile=${pwFile}`,
    "-A",
    "scram-sha-256",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-instructions",
  ]).catch((err) => fail("initdb", err));

  let port = 0;
  const optionsFor = (p: number) =>
    [
      "-c listen_addresses=127.0.0.1",
      `-p ${p}`,
      "-c unix_socket_directories=''",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c shared_buffers=16MB",
      "-c max_connections=100",
    ].join(" ");
  const pgStart = (p: number) =>
    cmd("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "30", "-o", optionsFor(p), "start"]);
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await pgStart(port);
      break;
    } catch (err) {
      if (attempt >= 3) fail("pg_ctl start", err); // the port was taken meanwhile: try another one
    }
  }

  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    const { file, rest } = argvOf("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
    spawnSync(file, rest, { cwd: dir, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  // A test file that dies without its `after` must not leave a server behind.
  process.once("exit", stopNow);

  const url = (database: string) =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const sql = async <R extends pg.QueryResultRow>(database: string, text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    url,
    sql,
    async createDatabase(name = `vault_${process.pid}_${++counter}`) {
      await sql("postgres", `CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return url(name);
    },
    async halt() {
      await cmd("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch((err) => fail("pg_ctl stop", err));
    },
    async resume() {
      await pgStart(port).catch((err) => fail("pg_ctl start", err));
    },
    async stop() {
      process.removeListener("exit", stopNow);
      if (stopped) return;
      stopped = true;
      await cmd("pg_ctl", ["-D", data, "-m", "immediate", "stop"]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
