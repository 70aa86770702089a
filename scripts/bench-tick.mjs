// What a gateway tick costs over a big vault, with the schedule index and without it (the listing every
// tick that rekey did before, and still does for a Keeper vault).
//
//   node --import tsx scripts/bench-tick.mjs [--records 100000] [--ticks 10] [--backend sqlite|postgres]
//
// Builds a vault of N pamUser records (one store transaction for SQLite; commits of 1,000 creates for
// PostgreSQL, on a throwaway server from src/testing/postgres.ts), none due (rotated an hour ago, every
// 30 days), then runs an in-process gateway (fake engine: nothing is due, so nothing rotates) and prints
// the CPU time (process.cpuUsage, user + system) and wall time of:
//   - listing: ticks of a gateway without the index (the store's scheduleIndex hidden): before;
//   - index build: the first tick of a gateway on the vault with no index rows (decrypts everything once);
//   - second tick: reads back the rows the first one wrote;
//   - idle ticks: later ticks with the index (nothing changed);
//   - restart: the first tick of a new gateway over the index the first one wrote.
// For PostgreSQL the database server's own CPU is not counted (another process).
import { parseArgs } from "node:util";
import { gatewayConfigSchema } from "../src/gateway/config.ts";
import { createGateway } from "../src/gateway/gateway.ts";
import { parseSchedule } from "../src/gateway/schedule.ts";
import { setRecordSchedule } from "../src/gateway/schedule-field.ts";
import { Secret } from "../src/secret.ts";
import { initPostgresVault } from "../src/stores/postgres/pg-open.ts";
import { toAsyncStore } from "../src/stores/sqlite/async-adapter.ts";
import { startPostgres } from "../src/testing/postgres.ts";
import { TEST_KDF, TEST_PASSPHRASE, tempDir, tempVault } from "../src/testing/vault.ts";
import { newRecord, setFieldValue } from "../src/vault/record.ts";

const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "100000" },
    ticks: { type: "string", default: "10" },
    backend: { type: "string", default: "sqlite" },
  },
});
const N = Number(args.records);
const TICKS = Number(args.ticks);

const ms = (us) => (us / 1000).toFixed(1);
const cpuOf = (u) => u.user + u.system;

function userRecord(i, createdAt) {
  let r = newRecord("pamUser", `user-${i}`);
  setFieldValue(r, "login", `user-${i}`);
  setFieldValue(r, "aws_access_key_id", `AKIA${String(i).padStart(16, "0")}`);
  setFieldValue(r, "CreateDate", createdAt);
  r = setRecordSchedule(r, parseSchedule("every 30d"));
  return r;
}

function configuration() {
  const c = newRecord("pamAwsConfiguration", "aws");
  setFieldValue(c, "awsId", "123456789012");
  return c;
}

async function buildSqlite() {
  const vault = await tempVault();
  const createdAt = new Date(Math.floor(Date.now() / 1000 - 3600) * 1000).toISOString();
  const t = performance.now();
  vault.store.transaction(() => {
    vault.store.createRecord(configuration(), { actor: "bench" });
    for (let i = 0; i < N; i++) vault.store.createRecord(userRecord(i, createdAt), { actor: "bench" });
  });
  console.log(`built a ${N}-record SQLite vault in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { store: toAsyncStore(vault.store), close: () => vault.cleanup() };
}

async function buildPostgres() {
  const server = await startPostgres();
  const url = await server.createDatabase();
  const d = tempDir("rekey-bench-");
  const store = await initPostgresVault(url, {
    passphrase: new Secret(TEST_PASSPHRASE),
    keyFile: `${d.dir}/vault.key`,
    kdf: TEST_KDF,
    actor: "bench",
  });
  const createdAt = new Date(Math.floor(Date.now() / 1000 - 3600) * 1000).toISOString();
  const t = performance.now();
  await store.commit([{ op: "createRecord", record: configuration() }], { actor: "bench" });
  for (let i = 0; i < N; i += 1000) {
    const ops = [];
    for (let j = i; j < Math.min(N, i + 1000); j++)
      ops.push({ op: "createRecord", record: userRecord(j, createdAt) });
    await store.commit(ops, { actor: "bench" });
  }
  console.log(`built a ${N}-record PostgreSQL vault in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return {
    store,
    close: async () => {
      await store.close();
      await server.stop();
      d.cleanup();
    },
  };
}

function gateway(store, decrypts) {
  return createGateway({
    store,
    config: gatewayConfigSchema.parse({ tickSeconds: 0.05, jitterSeconds: 0 }),
    rotate: async () => {
      throw new Error("bench: nothing should be due");
    },
    repair: async () => ({ records: [], ok: true }),
    spreadStart: 0,
    observer: { decrypt: (n) => (decrypts.n += n) },
    // Anything unexpected (a failed tick, a rotation attempted) is shown, never hidden in the figures.
    logger: {
      debug() {},
      info() {},
      warn: (o, m) => console.error("warn:", m, o),
      error: (o, m) => console.error("error:", m, o),
    },
  });
}

/** CPU and wall time of one call. */
async function measure(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  return { cpu: cpuOf(process.cpuUsage(c0)), wall: (performance.now() - t0) * 1000 };
}

async function ticks(g, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await measure(() => g.tick()));
  const avg = (k) => out.reduce((s, x) => s + x[k], 0) / out.length;
  return { cpu: avg("cpu"), wall: avg("wall") };
}

const vault = args.backend === "postgres" ? await buildPostgres() : await buildSqlite();
const line = (what, m, decrypted) =>
  console.log(
    `${what.padEnd(38)} cpu ${ms(m.cpu).padStart(9)} ms   wall ${ms(m.wall).padStart(9)} ms   decrypted ${decrypted}`,
  );
try {
  // Before: no index (as for a Keeper vault): every tick lists and decrypts the whole vault.
  {
    // A view of the store without its index (the PostgreSQL store is a class: a Proxy, not a spread).
    let seen = 0;
    const counting = new Proxy(vault.store, {
      get(target, key) {
        if (key === "scheduleIndex") return undefined;
        if (key === "listRecords")
          return async (f) => {
            const all = await target.listRecords(f);
            seen += all.length;
            return all;
          };
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const decrypts = { n: 0 };
    const g2 = gateway(counting, decrypts);
    line("listing: first tick", await measure(() => g2.start({ loop: false })), seen);
    seen = 0;
    const m = await ticks(g2, Math.min(TICKS, 3));
    line(`listing: later ticks (avg of ${Math.min(TICKS, 3)})`, m, seen / Math.min(TICKS, 3));
    await g2.stop(0);
  }
  // After: the schedule index.
  {
    const decrypts = { n: 0 };
    const g = gateway(vault.store, decrypts);
    line("index: first tick (index build)", await measure(() => g.start({ loop: false })), decrypts.n);
    decrypts.n = 0;
    // The first tick after the build reads back the rows the build wrote (rows written since its last look).
    line("index: second tick (reads rows back)", await measure(() => g.tick()), decrypts.n);
    decrypts.n = 0;
    line(`index: idle ticks (avg of ${TICKS})`, await ticks(g, TICKS), decrypts.n);
    await g.stop(0);
    const again = gateway(vault.store, decrypts);
    decrypts.n = 0;
    line("index: restart, first tick", await measure(() => again.start({ loop: false })), decrypts.n);
    await again.stop(0);
  }
} finally {
  await vault.close();
}
