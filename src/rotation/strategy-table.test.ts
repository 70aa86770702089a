/** The strategy table: every strategy has an entry, and each entry agrees with itself and with its plan. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { policyFor } from "../providers/aws-iam/policy.js";
import type { KeyMeta } from "../providers/aws-iam/port.js";
import { planRotation } from "./plan.js";
import { STRATEGIES, type Strategy } from "./settings.js";
import {
  ADOPTION_IAM_ACTIONS,
  adoptionAllowed,
  describeStrategies,
  oldKeysGoneBeforeCreate,
  retireModeOf,
  STRATEGY_TABLE,
  strategyIamActions,
  strategySpec,
  verifyByDefault,
} from "./strategy-table.js";

const CURRENT = "AKIACURRENTCURRENTCU";
const current: KeyMeta = {
  accessKeyId: CURRENT,
  status: "Active",
  createDate: new Date(Date.UTC(2024, 0, 1)),
};

test("strategy table: exactly one entry per strategy name, each with a one-line description", () => {
  assert.deepEqual(Object.keys(STRATEGY_TABLE).sort(), [...STRATEGIES].sort());
  for (const s of STRATEGIES) {
    const d = strategySpec(s).description;
    assert.ok(d.length > 10 && !d.includes("\n"), `${s}: description "${d}"`);
  }
  assert.deepEqual(
    describeStrategies().map((l) => l.split(":")[0]),
    [...STRATEGIES],
  );
});

test("strategy table: each entry is consistent with itself", () => {
  for (const s of STRATEGIES) {
    const spec = strategySpec(s);
    if (spec.afterSave === "deactivate") {
      assert.ok(
        spec.iamActions.includes("iam:UpdateAccessKey"),
        `${s} deactivates: needs iam:UpdateAccessKey`,
      );
    }
    // Old keys deleted before the create leave nothing for after the save, and nothing to adopt.
    assert.equal(spec.oldKeysGoneBeforeCreate, spec.afterSave === "none", `${s}: afterSave vs oldKeysGone`);
    if (spec.oldKeysGoneBeforeCreate) assert.equal(spec.adoptionAllowed, false, `${s} cannot adopt`);
    for (const a of spec.iamActions) assert.match(a, /^iam:[A-Z]\w+$/, `${s}: action ${a}`);
  }
});

test("strategy table: each plan does to the vault's current key what afterSave says", () => {
  for (const s of STRATEGIES) {
    const out = planRotation({
      userName: "alice",
      strategy: s,
      keys: [current],
      currentKeyId: CURRENT,
      verify: false,
    });
    assert.ok(out.ok, `${s}: ${out.ok ? "" : out.reason}`);
    const ids = (xs: { keyId: string }[]) => xs.map((x) => x.keyId);
    const where = {
      before: ids(out.plan.deleteBefore),
      delete: ids(out.plan.deleteAfter),
      deactivate: ids(out.plan.deactivateAfter),
    };
    const want = { before: [] as string[], delete: [] as string[], deactivate: [] as string[] };
    const after = strategySpec(s).afterSave;
    want[after === "none" ? "before" : after].push(CURRENT);
    assert.deepEqual(where, want, s);
  }
});

test("strategy table: the engine's questions answer as the strategies always did", () => {
  const rows: Array<
    [Strategy, { verify: boolean; retire: string; adoptRetire: string; adopt: boolean; gone: boolean }]
  > = [
    [
      "create-then-delete",
      { verify: false, retire: "delete", adoptRetire: "deactivate", adopt: true, gone: false },
    ],
    [
      "delete-then-create",
      { verify: false, retire: "delete", adoptRetire: "deactivate", adopt: false, gone: true },
    ],
    ["graceful", { verify: true, retire: "deactivate", adoptRetire: "deactivate", adopt: true, gone: false }],
  ];
  for (const [s, want] of rows) {
    assert.deepEqual(
      {
        verify: verifyByDefault(s),
        retire: retireModeOf(s, false),
        adoptRetire: retireModeOf(s, true),
        adopt: adoptionAllowed(s),
        gone: oldKeysGoneBeforeCreate(s),
      },
      want,
      s,
    );
  }
});

test("strategy table: the policy allows every action a strategy (and adoption) needs, each once", () => {
  for (const s of STRATEGIES) {
    for (const adopt of [false, true]) {
      const actions = policyFor({ strategy: s, adopt }).Statement[0]?.Action ?? [];
      for (const a of strategyIamActions(s, adopt))
        assert.ok(actions.includes(a), `${s} adopt=${adopt}: ${a}`);
      assert.equal(new Set(actions).size, actions.length, `${s} adopt=${adopt}: duplicates in ${actions}`);
    }
  }
  assert.deepEqual(strategyIamActions("graceful", true), ["iam:UpdateAccessKey"]);
  assert.deepEqual(strategyIamActions("create-then-delete", true), [...ADOPTION_IAM_ACTIONS]);
  assert.deepEqual(strategyIamActions("create-then-delete"), []);
});
