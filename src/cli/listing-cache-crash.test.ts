/**
 * A `record list` killed (SIGKILL: no finally, no cleanup) while it writes the listing cache leaves the old
 * file as it was, or none: never half a file. The next listing answers what the vault holds and writes a
 * whole cache. Real child processes, a real vault.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BIN, freshHome, rekey, spawnNode } from "../testing/cli.js";

const USERS = 4000;

/** `record list --json`, killed as soon as it has written its first bytes; whether it was cut short. */
async function killedListing(env: NodeJS.ProcessEnv): Promise<boolean> {
  const run = spawnNode([BIN, "record", "list", "--json"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REKEY_LOG_LEVEL: "silent", ...env },
    timeoutMs: 60_000,
  });
  run.child.stdout.once("data", () => run.child.kill("SIGKILL"));
  const { signal } = await run.exited;
  return signal === "SIGKILL";
}

test("a listing killed while it writes the cache leaves no half file; the next one answers right", async () => {
  const { home, env } = freshHome();
  const csv = join(home, "users.csv");
  writeFileSync(
    csv,
    Array.from({ length: USERS }, (_, i) => `,crash-${i},svc-crash-${i},dummy,,,,$type,pamUser\n`).join(""),
  );
  // Imported without the cache, so that the listing below writes it from the start.
  const imported = rekey(["import", "csv", csv], { env: { ...env, REKEY_LISTING_CACHE: "0" } });
  assert.equal(imported.code, 0, imported.stderr);
  const truth = rekey(["record", "list", "--json"], { env: { ...env, REKEY_LISTING_CACHE: "0" } });
  assert.equal(truth.code, 0, truth.stderr);
  const dir = join(home, "cache", "listing");
  const caches = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cache")) : []);
  const temps = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(".tmp-")) : []);

  // No cache yet: killed mid-way, it leaves a temporary file and no cache file.
  let cut = false;
  for (let i = 0; i < 5 && !cut; i++) cut = (await killedListing(env)) && caches().length === 0;
  assert.ok(cut, "the listing was killed before it finished");
  assert.ok(temps().length > 0, "killed while writing");
  assert.deepEqual(caches(), []);
  const first = rekey(["record", "list", "--json"], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, truth.stdout);
  assert.equal(caches().length, 1);
  const file = join(dir, caches()[0]!);

  // A cache to rewrite from its start (the first record changed): killed mid-way, the old file is intact.
  const edited = rekey(["record", "edit", "crash-0", "--set", "login=svc-crash-zero"], { env });
  assert.equal(edited.code, 0, edited.stderr);
  const before = readFileSync(file);
  cut = false;
  for (let i = 0; i < 5 && !cut; i++) cut = (await killedListing(env)) && readFileSync(file).equals(before);
  assert.ok(cut, "the rewrite was killed before its rename");
  const after = rekey(["record", "list", "--json"], { env });
  assert.equal(after.code, 0, after.stderr);
  const rows = JSON.parse(after.stdout) as Array<{ title: string; revision: number }>;
  assert.equal(rows.length, USERS);
  assert.deepEqual(rows[0], { ...rows[0], title: "crash-0", revision: 2 });
  assert.equal(readFileSync(file).equals(before), false, "the finished listing wrote the cache anew");
  const again = rekey(["record", "list", "--json"], { env });
  assert.equal(again.stdout, after.stdout);
});
