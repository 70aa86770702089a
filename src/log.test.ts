import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "./log.js";
import { Secret } from "./secret.js";

test("the logger redacts secret-bearing keys and Secret values at debug level", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(s) } });
  log.debug({ secretAccessKey: "RAW1-abcdef", creds: { aws_secret_access_key: "RAW2-abcdef" } }, "x");
  log.info({ key: new Secret("RAW3-abcdef"), accessKeyId: "AKIAEXAMPLE" }, "y");
  const all = lines.join("");
  for (const raw of ["RAW1", "RAW2", "RAW3"]) assert.ok(!all.includes(raw), `${raw} leaked: ${all}`);
  assert.ok(all.includes("AKIAEXAMPLE"), "key ids are fine to log");
});
