/**
 * The adapter over today's gateway (createGateway, in-process, a stand-in engine that writes a new key id
 * like gateway.test.ts's): rotate now queues a manual attempt, the state reads the gateway's stats, and
 * the recorded attempts reach the metrics once each.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { gatewayConfigSchema } from "../gateway/config.js";
import { createGateway } from "../gateway/gateway.js";
import type { RotationResult } from "../rotation/index.js";
import { toAsyncStore } from "../stores/sqlite/async-adapter.js";
import { tempVault } from "../testing/vault.js";
import { getFieldValue, newRecord, setFieldValue } from "../vault/record.js";
import { gatewayHandle } from "./gateway-handle.js";
import { GatewayMetrics } from "./metrics.js";

test("gatewayHandle: rotate now, state, attempts into metrics", async () => {
  const vault = await tempVault();
  try {
    const r = newRecord("pamUser", "alice");
    setFieldValue(r, "login", "alice");
    const uid = vault.store.createRecord(r, { actor: "test" }).uid;
    let n = 0;
    const gateway = createGateway({
      store: toAsyncStore(vault.store),
      config: gatewayConfigSchema.parse({ tickSeconds: 60, jitterSeconds: 0 }),
      repair: async () => ({ records: [], ok: true }),
      spreadStart: 0,
      rotate: async (store, ref, opts) => {
        const s = (await store.getRecord(ref))!;
        const rec = structuredClone(s.record);
        setFieldValue(rec, "aws_access_key_id", `AKIAFAKE${++n}`);
        await store.saveRecord(ref, rec, { expectedRevision: s.revision, actor: opts.actor ?? "test" });
        return {
          created: { accessKeyId: `AKIAFAKE${n}` },
          deleted: [],
          deactivated: [],
        } as unknown as RotationResult;
      },
    });
    const metrics = new GatewayMetrics({ processMetrics: false });
    const started = new Date("2024-01-01T00:00:00Z");
    const handle = gatewayHandle(gateway, { metrics, startedAt: started });
    await gateway.start({ loop: false });
    const queued = await handle.rotateNow!(uid, "ops");
    await gateway.idle();
    assert.deepEqual(
      queued,
      { queued: true, attemptId: gateway.attempts[0]?.id },
      "the attempt id is the history entry's",
    );
    assert.equal(getFieldValue(vault.store.getRecord(uid)!.record, "aws_access_key_id"), "AKIAFAKE1");
    const st = handle.state();
    // The gateway's own live state (it has state()): its start, its last listing, the vault answering.
    assert.equal(st.vaultReachable, true);
    assert.equal(st.running, 0);
    assert.deepEqual(st.runningRecords, []);
    assert.notEqual(st.startedAt, started.toISOString(), "the gateway's start, not the adapter's fallback");
    assert.ok(st.lastTickAt && Date.parse(st.lastTickAt) >= Date.parse(st.startedAt));
    handle.state(); // read twice: each attempt is counted once
    const { body } = await metrics.text();
    assert.match(body, /^rekey_rotations_total\{outcome="succeeded",trigger="manual"\} 1$/m);

    await gateway.stop(0);
  } finally {
    vault.cleanup();
  }
});
