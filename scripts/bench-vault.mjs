// rekey's large-vault benchmark: a vault of N pamUser records (100,000 by default), then cold CLI runs of the
// listing commands, each process timed (wall) and measured (peak RSS), for SQLite and PostgreSQL.
// Usage: npm run bench:vault [-- --records 100000 --backend sqlite|postgres|both --runs 1 --import-csv
//        --dir DIR --timeout SECONDS --bin OTHER/bin/rekey.js]
// Not a test: no thresholds here. The vault is built through the store API in batched transactions (fast);
// --import-csv also times `rekey import csv` of the same size once (into a fresh vault).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initVault } from "../src/stores/sqlite/sqlite-open.ts";
import { startPostgres } from "../src/testing/postgres.ts";
import { newRecord, setFieldValue } from "../src/vault/record.ts";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RECORDS = Number(arg("records", "100000"));
const BACKEND = arg("backend", "both");
const RUNS = Number(arg("runs", "1"));
const IMPORT_CSV = process.argv.includes("--import-csv");
/** Seconds after which a command is stopped and reported as "> N s" (a quadratic baseline would run for hours). */
const TIMEOUT_S = Number(arg("timeout", "120"));
const BATCH = 1000;
// --bin: another build's bin/rekey.js (e.g. a checkout of main, for before/after figures on the same vault).
const BIN = arg("bin", new URL("../bin/rekey.js", import.meta.url).pathname);
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** The i-th record: a pamUser like an imported one (login, key id, secret, CreateDate). */
function pamUser(i) {
  const n = String(i).padStart(6, "0");
  const r = newRecord("pamUser", `user-${n}`);
  setFieldValue(r, "login", `svc-${n}`);
  setFieldValue(r, "password", "dummy-password");
  r.custom.push(
    { type: "text", label: "aws_access_key_id", value: [`AKIABENCH${n.padStart(11, "0")}`] },
    { type: "secret", label: "aws_secret_access_key", value: [`benchSecret${n}`.padEnd(40, "x")] },
    { type: "text", label: "CreateDate", value: [new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString()] },
    { type: "text", label: "Access_Key_ID_Removed_during_previous_rotation", value: [] },
  );
  return r;
}

async function fillSqlite(path, keyFile) {
  const store = await initVault(path, { keyFile, actor: "bench" });
  try {
    for (let i = 0; i < RECORDS; i += BATCH) {
      store.transaction(() => {
        for (let j = i; j < Math.min(RECORDS, i + BATCH); j++)
          store.createRecord(pamUser(j), { actor: "bench" });
      });
    }
  } finally {
    store.close();
  }
}

/** One cold `rekey ARGS`: wall ms, peak RSS MiB (from /usr/bin/time, else none), stdout bytes. */
function rekey(args, env) {
  const dir = mkdtempSync(join(tmpdir(), "rekey-bench-time-"));
  const out = join(dir, "time");
  const argv = TIME
    ? [TIME, "-o", out, "-f", "%M %U %S", process.execPath, BIN, ...args]
    : [process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), {
      env: { PATH: process.env.PATH, REKEY_LOG_LEVEL: "silent", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: a timeout stops /usr/bin/time and rekey together
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, "SIGKILL");
    }, TIMEOUT_S * 1000);
    let bytes = 0;
    let stderr = "";
    child.stdout.on("data", (d) => {
      bytes += d.length;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) {
        rmSync(dir, { recursive: true, force: true });
        return resolve({ ms: Number.POSITIVE_INFINITY, rssMb: Number.NaN, cpuS: Number.NaN, bytes: 0 });
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      // /usr/bin/time's last line: peak RSS (KiB), user and system CPU seconds.
      const [rssKb, user, sys] = TIME
        ? readFileSync(out, "utf8").trim().split("\n").pop().split(" ").map(Number)
        : [Number.NaN, Number.NaN, Number.NaN];
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`rekey ${args.join(" ")} failed (${code}): ${stderr.slice(0, 2000)}`));
      else resolve({ ms, rssMb: rssKb / 1024, cpuS: user + sys, bytes });
    });
  });
}

/** Wall time, CPU time (user + system: what a loaded machine changes least) and peak RSS of one run. */
function figures(s) {
  const wall = `${(s.ms / 1000).toFixed(2).padStart(6)} s wall`;
  if (Number.isNaN(s.rssMb)) return wall;
  return `${wall}  ${s.cpuS.toFixed(2).padStart(6)} s CPU  peak RSS ${s.rssMb.toFixed(0).padStart(4)} MB`;
}

/**
 * One warm-up run, then RUNS runs (the median shown). `first`: show the warm-up too, as the run that finds no
 * listing cache (record list and status then open every record and write the cache).
 */
async function measure(name, args, env, { first = false } = {}) {
  const warm = await rekey(args, env);
  if (warm.ms === Number.POSITIVE_INFINITY) {
    // warm-up run (OS file cache) took too long: do not repeat it
    return console.log(`  ${name.padEnd(28)}   > ${TIMEOUT_S} s (stopped)`);
  }
  if (first) console.log(`  ${`${name}, no cache`.padEnd(28)} ${figures(warm)}`);
  const samples = [];
  for (let i = 0; i < RUNS; i++) samples.push(await rekey(args, env));
  samples.sort((a, b) => a.ms - b.ms);
  const s = samples[Math.floor(samples.length / 2)];
  console.log(`  ${name.padEnd(28)} ${figures(s)}  (${(s.bytes / 1e6).toFixed(1)} MB out)`);
}

async function benchCommands(label, env) {
  console.log(`${label}:`);
  // Each backend's listing cache starts empty (REKEY_HOME/cache/listing; a file per vault).
  rmSync(join(env.REKEY_HOME, "cache", "listing"), { recursive: true, force: true });
  await measure("record list --json", ["record", "list", "--json"], env, { first: true });
  await measure("record list (table)", ["record", "list"], env);
  await measure("status --json", ["status", "--json"], env);
  await measure("status (table)", ["status"], env);
  const title = `user-${String(Math.floor(RECORDS / 2)).padStart(6, "0")}`;
  await measure(`record get ${title}`, ["record", "get", title, "login"], env);
}

function csvOf(n) {
  // Keeper Commander's CSV: folder,title,login,password,url,notes,shared folder, then name,value pairs.
  const lines = [];
  for (let i = 0; i < n; i++) {
    const k = String(i).padStart(6, "0");
    lines.push(
      `,user-${k},svc-${k},dummy-password,,,,$type,pamUser,aws_access_key_id,AKIABENCH${k.padStart(11, "0")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

async function timeImport(env, home) {
  const file = join(home, "bench.csv");
  writeFileSync(file, csvOf(RECORDS));
  const r = await rekey(["import", "csv", file], env);
  const shown = r.ms === Number.POSITIVE_INFINITY ? `  > ${TIMEOUT_S} s (stopped)` : figures(r);
  console.log(`  ${"import csv".padEnd(28)} ${shown}`);
}

const time = async (what, fn) => {
  const t0 = Date.now();
  await fn();
  console.log(`  (${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
};

console.log(`node ${process.version}, ${RECORDS} pamUser records, ${RUNS} run(s) per case after one warm-up`);
console.log(
  `load average before: ${(await import("node:os"))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
// --dir DIR: build the vaults there and keep them (a second run with the same DIR reuses the SQLite vault).
const KEEP = arg("dir", undefined);
if (KEEP) mkdirSync(KEEP, { recursive: true });
const home = KEEP ?? mkdtempSync(join(tmpdir(), "rekey-bench-vault-"));
const keyFile = join(home, "vault.key");
const sqliteEnv = { REKEY_HOME: home, REKEY_KEY_FILE: keyFile };
try {
  // The SQLite vault is built once; the PostgreSQL one is its copy (`rekey vault copy`: bulk inserts, where
  // 100,000 commits of the store API took minutes).
  const path = join(home, "vault.db");
  if (!existsSync(path)) {
    await time("built the SQLite vault through the store API", () => fillSqlite(path, keyFile));
  }
  if (BACKEND === "sqlite" || BACKEND === "both") {
    await benchCommands("SQLite", sqliteEnv);
    if (IMPORT_CSV) {
      const h = join(home, "import");
      rmSync(h, { recursive: true, force: true }); // a fresh vault each time (--dir keeps the rest)
      const k = join(h, "vault.key");
      const env = { REKEY_HOME: h, REKEY_KEY_FILE: k };
      await rekey(["init", "--key-file", k, "--no-passphrase"], env);
      await timeImport(env, h);
    }
  }
  if (BACKEND === "postgres" || BACKEND === "both") {
    const pg = await startPostgres();
    try {
      const url = await pg.createDatabase();
      await time("copied it into PostgreSQL (rekey vault copy)", () =>
        rekey(["vault", "copy", "--to", url], sqliteEnv),
      );
      await benchCommands("PostgreSQL", { ...sqliteEnv, REKEY_VAULT: url });
      if (IMPORT_CSV) {
        const env = { ...sqliteEnv, REKEY_VAULT: await pg.createDatabase() };
        await rekey(["init", "--key-file", keyFile, "--use-existing-key-file", "--no-passphrase"], env);
        await timeImport(env, home);
      }
    } finally {
      await pg.stop();
    }
  }
} finally {
  if (!KEEP) rmSync(home, { recursive: true, force: true });
}
