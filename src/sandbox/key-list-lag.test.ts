import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyListLag } from "./key-list-lag.js";
import type { AccessKey } from "./model.js";

const key = (id: string, status: "Active" | "Inactive" = "Active"): AccessKey => ({
  accessKeyId: id,
  secretAccessKey: "s",
  status,
  createDate: 0,
  usableAfter: 0,
  accountId: "123456789012",
  userName: "u",
});
const ids = (keys: readonly AccessKey[]) => keys.map((k) => `${k.accessKeyId}:${k.status}`);

describe("KeyListLag", () => {
  it("off (window 0): lists the keys as they are, keeps no history", () => {
    const lag = new KeyListLag();
    const keys = [key("A")];
    lag.beforeChange(keys, 0);
    keys.push(key("B"));
    assert.deepEqual(ids(lag.view(keys, 0)), ["A:Active", "B:Active"]);
  });

  it("answers the keys as they were windowMs ago: quick changes show up one after the other", () => {
    const lag = new KeyListLag();
    lag.windowMs = 1000;
    const keys = [key("A")];
    lag.beforeChange(keys, 100); // create B at t=100
    keys.push(key("B"));
    lag.beforeChange(keys, 300); // deactivate A at t=300
    keys[0]!.status = "Inactive";
    lag.beforeChange(keys, 500); // delete A at t=500
    keys.shift();

    const table: Array<[number, string[]]> = [
      [100, ["A:Active"]],
      [1099, ["A:Active"]],
      [1100, ["A:Active", "B:Active"]],
      [1300, ["A:Inactive", "B:Active"]],
      [1499, ["A:Inactive", "B:Active"]],
      [1500, ["B:Active"]],
      [9999, ["B:Active"]],
    ];
    for (const [t, expected] of table) assert.deepEqual(ids(lag.view(keys, t)), expected, `at t=${t}`);
  });

  it("a change after the window closed starts from the state it changes", () => {
    const lag = new KeyListLag();
    lag.windowMs = 100;
    const keys: AccessKey[] = [];
    lag.beforeChange(keys, 0);
    keys.push(key("A"));
    lag.beforeChange(keys, 500);
    keys.push(key("B"));
    assert.deepEqual(ids(lag.view(keys, 550)), ["A:Active"]);
    assert.deepEqual(ids(lag.view(keys, 600)), ["A:Active", "B:Active"]);
  });

  it("setting the window to 0 forgets every history", () => {
    const lag = new KeyListLag();
    lag.windowMs = 1000;
    const keys: AccessKey[] = [];
    lag.beforeChange(keys, 0);
    keys.push(key("A"));
    assert.deepEqual(ids(lag.view(keys, 10)), []);
    lag.windowMs = 0;
    lag.windowMs = 1000;
    assert.deepEqual(ids(lag.view(keys, 10)), ["A:Active"]);
  });
});
