/**
 * The layout's rules (README, Architecture), checked on every source file's imports.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = import.meta.dirname;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Each product (non-test) file's imports: package names and src-relative paths. */
const product = files(SRC)
  .filter((f) => !f.endsWith(".test.ts") && !relative(SRC, f).startsWith("testing/"))
  .map((f) => {
    const text = readFileSync(f, "utf8");
    const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
    return {
      file: relative(SRC, f),
      imports: specs.map((s) => (s.startsWith(".") ? relative(SRC, resolve(dirname(f), s)) : s)),
    };
  });

const offenders = (ok: (file: string) => boolean, bad: (spec: string) => boolean) =>
  product.filter((p) => !ok(p.file) && p.imports.some(bad)).map((p) => p.file);

test("only providers/aws-iam/ imports the AWS SDK", () => {
  assert.deepEqual(
    offenders(
      (f) => f.startsWith("providers/aws-iam/") || f.startsWith("sandbox/"),
      (s) => s.startsWith("@aws-sdk/") || s.startsWith("@smithy/"),
    ),
    [],
  );
});

test("only stores/keeper/ imports the KSM SDK", () => {
  assert.deepEqual(
    offenders(
      (f) => f.startsWith("stores/keeper/"),
      (s) => s.startsWith("@keeper-security/"),
    ),
    [],
  );
});

test("the engine, the gateway and the provider import no store implementation (only the store port)", () => {
  assert.deepEqual(
    offenders(
      (f) => !/^(rotation|gateway|providers|pam-protocol)\//.test(f),
      (s) => s.startsWith("stores/"),
    ),
    [],
  );
});

test("vault/ imports no backend; no product code imports testing/", () => {
  assert.deepEqual(
    offenders(
      (f) => !f.startsWith("vault/"),
      (s) => s.startsWith("stores/"),
    ),
    [],
  );
  assert.deepEqual(
    offenders(
      () => false,
      (s) => s.startsWith("testing/"),
    ),
    [],
  );
  assert.ok(product.length > 150, `${product.length} product files scanned`);
});
