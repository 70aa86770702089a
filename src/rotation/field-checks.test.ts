import assert from "node:assert/strict";
import { test } from "node:test";
import { RekeyError } from "../errors.js";
import { newRecord, parseStrictBool, setFieldValue } from "../vault/record.js";
import { checkSettingFields, parseRotationMode, ROTATION_MODES } from "./field-checks.js";
import { readSettings } from "./settings.js";

function user(fields: Record<string, string>) {
  const r = newRecord("pamUser", "alice (AWS)");
  for (const [k, v] of Object.entries(fields)) setFieldValue(r, k, v);
  return r;
}

test("checkSettingFields: one message per bad field, none for good values", () => {
  const cases: Array<[Record<string, string>, RegExp[]]> = [
    [{ login: "alice" }, []],
    [{ delete_all_keys_before_rotating: "False", NOOP: "True" }, []],
    [{ delete_all_keys_before_rotating: "", NOOP: "" }, []],
    [{ delete_all_keys_before_rotating: " YES ", NOOP: "off" }, []],
    [{ rotation_strategy: "Graceful", rotation_mode: "Scripts-Only" }, []],
    [{ rotation_strategy: "delete-then-create", rotation_mode: "rotate" }, []],
    [
      { delete_all_keys_before_rotating: "maybe" },
      [
        /^field delete_all_keys_before_rotating: "maybe" is not a yes\/no value .*True\/False, yes\/no, 1\/0, on\/off/,
      ],
    ],
    [{ NOOP: "ture" }, [/^field NOOP: "ture" is not a yes\/no value/]],
    [
      { rotation_strategy: "fast" },
      [
        /^field rotation_strategy: unknown rotation strategy "fast" \(use one of: create-then-delete, delete-then-create, graceful\)/,
      ],
    ],
    [
      { rotation_mode: "noop" },
      [/^field rotation_mode: unknown rotation mode "noop" \(use one of: rotate, scripts-only\)/],
    ],
    [
      { NOOP: "2", delete_all_keys_before_rotating: "-", rotation_mode: "x", rotation_strategy: "y" },
      [/delete_all_keys_before_rotating/, /NOOP/, /rotation_strategy/, /rotation_mode/],
    ],
  ];
  for (const [fields, expected] of cases) {
    const got = checkSettingFields(user(fields));
    assert.equal(got.length, expected.length, `${JSON.stringify(fields)} → ${JSON.stringify(got)}`);
    for (const [i, re] of expected.entries()) assert.match(got[i]!, re, JSON.stringify(fields));
  }
});

test("parseRotationMode: empty is rotate, unknown is a usage error naming where", () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, "rotate"],
    ["", "rotate"],
    ["  ", "rotate"],
    ["rotate", "rotate"],
    ["scripts-only", "scripts-only"],
    [" SCRIPTS-ONLY ", "scripts-only"],
  ];
  for (const [v, want] of cases) assert.equal(parseRotationMode(v, "w"), want, String(v));
  assert.deepEqual([...ROTATION_MODES], ["rotate", "scripts-only"]);
  for (const v of ["noop", "scripts only", "true"]) {
    assert.throws(
      () => parseRotationMode(v, 'record "a", field rotation_mode'),
      (e: unknown) =>
        e instanceof RekeyError &&
        e.exitCode === 2 &&
        e.message.startsWith('record "a", field rotation_mode: unknown rotation mode') &&
        e.hint === "use one of: rotate, scripts-only",
      v,
    );
  }
});

test("parseStrictBool: the seed's spellings in any case; anything else is refused", () => {
  const cases: Array<[string | undefined, boolean | "error"]> = [
    ["True", true],
    ["true", true],
    [" YES ", true],
    ["1", true],
    ["on", true],
    ["False", false],
    ["no", false],
    ["0", false],
    ["OFF", false],
    ["", false],
    [undefined, false],
    ["maybe", "error"],
    ["2", "error"],
    ["truee", "error"],
  ];
  for (const [v, want] of cases) {
    if (want === "error") {
      assert.throws(
        () => parseStrictBool(v, 'record "a", field NOOP'),
        (e: unknown) =>
          e instanceof RekeyError &&
          e.exitCode === 2 &&
          e.message === `record "a", field NOOP: "${v}" is not a yes/no value` &&
          /True\/False, yes\/no, 1\/0, on\/off/.test(e.hint ?? ""),
        String(v),
      );
    } else assert.equal(parseStrictBool(v, "w"), want, String(v));
  }
});

test("readSettings refuses delete_all_keys_before_rotating=maybe instead of reading False", () => {
  assert.throws(
    () => readSettings(user({ login: "alice", delete_all_keys_before_rotating: "maybe" })),
    (e: unknown) =>
      e instanceof RekeyError &&
      e.exitCode === 2 &&
      e.message.includes('record "alice (AWS)", field delete_all_keys_before_rotating: "maybe"'),
  );
  // What checkSettingFields accepts, readSettings reads the same way.
  for (const v of ["False", "off", ""]) {
    const s = readSettings(user({ login: "alice", delete_all_keys_before_rotating: v }));
    assert.equal(s.strategy, "create-then-delete", v);
  }
});
