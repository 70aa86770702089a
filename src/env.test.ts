import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ENV_NAMES, readEnv } from "./env.js";
import { RekeyError } from "./errors.js";

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

test("the schema lists every variable rekey's code reads", () => {
  const used = new Set<string>();
  for (const file of sources(join(import.meta.dirname))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\benv\??\.((?:REKEY|KSM)_[A-Z_]+|GATEWAY_CONFIG)\b/g)) used.add(m[1]!);
    for (const m of text.matchAll(/["'`]((?:REKEY)_[A-Z][A-Z_]*[A-Z])["'`=]/g)) used.add(m[1]!);
  }
  const missing = [...used].filter((n) => !ENV_NAMES.includes(n as (typeof ENV_NAMES)[number]));
  assert.deepEqual(missing, [], "declare these in src/env.ts");
  assert.ok(used.size >= 20, `found ${used.size} variables: the scan works`);
});

test("typed values, empty means unset, parsed once per environment", () => {
  const env = {
    REKEY_LOG_LEVEL: "debug",
    REKEY_LAST_USE_RESOLUTION_MS: "1",
    REKEY_DEBUG: "yes",
    REKEY_HOME: "",
  };
  const r = readEnv(env);
  assert.deepEqual(r, { REKEY_LOG_LEVEL: "debug", REKEY_LAST_USE_RESOLUTION_MS: 1, REKEY_DEBUG: true });
  assert.equal(readEnv(env), r, "memoized");
});

test("a bad value is a usage error naming the variable and what it is, never the value", () => {
  for (const [name, value] of [
    ["REKEY_LOG_LEVEL", "loud"],
    ["REKEY_LAST_USE_RESOLUTION_MS", "90000"],
    ["REKEY_GATEWAY_MAX_CONCURRENT", "0"],
    ["REKEY_GATEWAY_WEBHOOK_FORMAT", "xml-secret-ish"],
  ] as const) {
    assert.throws(
      () => readEnv({ [name]: value }),
      (err: unknown) => {
        assert.ok(err instanceof RekeyError && err.kind === "usage");
        assert.match(err.message, new RegExp(`^environment variable ${name} is not valid`));
        assert.ok(
          !err.message.includes(value) && !(err.hint ?? "").includes(value),
          "the value is not echoed",
        );
        return true;
      },
    );
  }
});

test("the README's list of environment variables is this schema's", () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
  const missing = ENV_NAMES.filter((n) => !readme.includes(`| \`${n}\``));
  assert.deepEqual(missing, [], "add them to README.md, Environment variables");
});
