/**
 * The schedule index on PostgreSQL, shared by two in-process gateways (each with its own connection pool):
 * what is due is rotated once in all, the index is built once and read by both, and an idle tick of either
 * decrypts nothing. (Three real gateway processes with a kill: ha-postgres.test.ts.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RotateOptions, RotationResult } from "../rotation/index.js";
import { openPostgresVault } from "../stores/postgres/pg-open.js";
import type { PostgresVaultStore } from "../stores/postgres/postgres-store.js";
import { pgTestServer } from "../testing/pg-vault.js";
import type { AsyncVaultStore } from "../vault/async-store.js";
import { newRecord, setFieldValue } from "../vault/record.js";
import { gatewayConfigSchema } from "./config.js";
import { FakeClock, flush } from "./fake-clock.js";
import { createGateway, type Gateway } from "./gateway.js";
import { parseSchedule } from "./schedule.js";
import { setRecordSchedule } from "./schedule-field.js";

const pg = pgTestServer();

/** The store, counting the records it decrypts (a Proxy: the PostgreSQL store is a class). */
function counting(store: PostgresVaultStore) {
  const c = { decrypted: 0 };
  const view = new Proxy(store, {
    get(target, key) {
      if (key === "getRecord")
        return async (uid: string) => {
          const r = await target.getRecord(uid);
          if (r) c.decrypted++;
          return r;
        };
      if (key === "listRecords")
        return async (f?: { type?: string; folderUid?: string }) => {
          const all = await target.listRecords(f);
          c.decrypted += all.length;
          return all;
        };
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as AsyncVaultStore;
  return { view, c };
}

test("two gateways share the index: due records rotated once in all, idle ticks decrypt nothing", async () => {
  const { url, keyFile, store: first } = await pg.vault();
  const second = await openPostgresVault(url, { keyFile });
  const clock = new FakeClock(Date.now());
  const gateways: Gateway[] = [];
  try {
    const due: string[] = [];
    for (let i = 0; i < 30; i++) {
      let r = newRecord("pamUser", `user-${i}`);
      setFieldValue(r, "login", `user-${i}`);
      // Every third is never rotated (due at once); the others were rotated an hour ago (due in 30 days).
      if (i % 3) setFieldValue(r, "CreateDate", new Date(clock.now() - 3600_000).toISOString());
      r = setRecordSchedule(r, parseSchedule("every 30d"));
      const created = await first.createRecord(r, { actor: "test" });
      if (i % 3 === 0) due.push(created.uid);
    }
    const calls: string[] = [];
    const rotate = async (
      store: AsyncVaultStore,
      uid: string,
      opts: RotateOptions,
    ): Promise<RotationResult> => {
      calls.push(uid);
      const s = (await store.getRecord(uid))!;
      const r = structuredClone(s.record);
      setFieldValue(r, "CreateDate", new Date(Math.floor(opts.now!().getTime() / 1000) * 1000).toISOString());
      await store.saveRecord(uid, r, { expectedRevision: s.revision, actor: "test" });
      return {
        created: { accessKeyId: "AKIAFAKE" },
        deleted: [],
        deactivated: [],
      } as unknown as RotationResult;
    };
    const counted = [counting(first), counting(second)];
    for (const [i, { view }] of counted.entries()) {
      gateways.push(
        createGateway({
          store: view,
          config: gatewayConfigSchema.parse({ tickSeconds: 30, jitterSeconds: 0 }),
          clock,
          rotate,
          repair: async () => ({ records: [], ok: true }),
          random: () => 0.5,
          spreadStart: i / 2,
        }),
      );
    }
    await Promise.all(gateways.map((g) => g.start({ loop: false })));
    for (let i = 0; i < 3; i++) {
      clock.advance(30_000);
      for (const g of gateways) {
        await g.tick();
        await g.idle();
      }
      await flush();
    }
    assert.deepEqual([...calls].sort(), [...due].sort(), "each due record rotated exactly once in all");
    const rows = await first.scheduleIndex.listRows();
    assert.equal(rows.length, 30);
    for (const row of rows) assert.ok(row.nextDueAt! > clock.now(), `row ${row.uid} still says due`);

    for (const { c } of counted) c.decrypted = 0;
    for (let i = 0; i < 3; i++) {
      clock.advance(30_000);
      for (const g of gateways) await g.tick();
    }
    assert.deepEqual(
      counted.map(({ c }) => c.decrypted),
      [0, 0],
      "idle ticks decrypted records",
    );
  } finally {
    for (const g of gateways) await g.stop(0);
    await second.close();
    await first.close();
  }
});
