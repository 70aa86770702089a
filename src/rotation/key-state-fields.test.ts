import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeeperRecord } from "../vault/record.js";
import { isKeyStateField, KEY_STATE_FIELDS, withCurrentKeyState } from "./key-state-fields.js";
import { FIELD } from "./settings.js";

const text = (label: string, v?: string) => ({ type: "text", label, value: v === undefined ? [] : [v] });
const secret = (label: string, v: string) => ({ type: "secret", label, value: [v] });

function rec(custom: KeeperRecord["custom"], title = "alice"): KeeperRecord {
  return { type: "pamUser", title, fields: [{ type: "login", value: ["alice"] }], custom, notes: "" };
}

test("the key state fields: the seed's, rekey's, and every aws_previous_* field", () => {
  for (const name of [
    "aws_access_key_id",
    "aws_secret_access_key",
    "CreateDate",
    "Access_Key_ID_Removed_during_previous_rotation",
    "aws_user_id",
    "aws_previous_access_key_id",
    "aws_previous_key_deactivated_at",
    "aws_previous_anything_added_later",
  ]) {
    assert.ok(isKeyStateField(name), name);
  }
  for (const name of [
    "login",
    "rotation_strategy",
    "old_key_grace",
    "aws_region",
    "rotationScripts",
    "password",
  ]) {
    assert.ok(!isKeyStateField(name), name);
  }
  for (const v of Object.values(FIELD)) {
    if (v.startsWith("aws_previous_")) assert.ok(KEY_STATE_FIELDS.includes(v), v);
  }
});

test("withCurrentKeyState: the old version's settings, the current key state (table)", () => {
  const cases: Array<{ name: string; version: KeeperRecord; current: KeeperRecord; want: KeeperRecord }> = [
    {
      name: "key fields replaced in place, settings from the version",
      version: rec([
        text("aws_access_key_id", "AKIAOLD"),
        secret("aws_secret_access_key", "old"),
        text("rotation_strategy", "graceful"),
      ]),
      current: rec([
        text("aws_access_key_id", "AKIANEW"),
        secret("aws_secret_access_key", "new"),
        text("rotation_strategy", "create-then-delete"),
      ]),
      want: rec([
        text("aws_access_key_id", "AKIANEW"),
        secret("aws_secret_access_key", "new"),
        text("rotation_strategy", "graceful"),
      ]),
    },
    {
      name: "a key field the version lacks is appended; one the current record lacks is dropped",
      version: rec([text("aws_previous_access_key_id", "AKIAGONE"), text("old_key_grace", "7d")]),
      current: rec([text("aws_access_key_id", "AKIANEW"), text("old_key_grace", "1d")]),
      want: rec([text("old_key_grace", "7d"), text("aws_access_key_id", "AKIANEW")]),
    },
    {
      name: "title and notes come from the version",
      version: { ...rec([], "alice (old title)"), notes: "old notes" },
      current: rec([text("CreateDate", "2025-01-01T00:00:00.000Z")]),
      want: {
        ...rec([text("CreateDate", "2025-01-01T00:00:00.000Z")], "alice (old title)"),
        notes: "old notes",
      },
    },
  ];
  for (const c of cases) {
    const before = structuredClone(c.version);
    assert.deepEqual(withCurrentKeyState(c.version, c.current), c.want, c.name);
    assert.deepEqual(c.version, before, `${c.name}: the input is not changed`);
  }
});
