import assert from "node:assert/strict";
import { test } from "node:test";
import { printJson } from "./context.js";
import { JsonArrayWriter } from "./json-stream.js";

/** An output that records its writes and how often it was asked to drain. */
function capture() {
  const chunks: string[] = [];
  let drains = 0;
  return {
    out: {
      write: (t: string) => void chunks.push(t),
      drain: async () => {
        drains++;
      },
    },
    text: () => chunks.join(""),
    chunks,
    drains: () => drains,
  };
}

async function streamed(values: unknown[]): Promise<ReturnType<typeof capture>> {
  const c = capture();
  const w = new JsonArrayWriter(c.out);
  for (const v of values) await w.push(v);
  await w.end();
  return c;
}

function printed(values: unknown[]): string {
  const chunks: string[] = [];
  printJson({ write: (t) => void chunks.push(t) }, values);
  return chunks.join("");
}

test("the same bytes as printJson of the whole array, for every shape of element", async () => {
  const cases: unknown[][] = [
    [],
    [1],
    [{}],
    [[]],
    ["a\nb", "tab\there", 'quote " and \\ back', "\u001b]0;x\u0007", "é ✓ 😀", "\u2028"],
    [{ a: 1, b: [1, 2, { c: null }], d: { e: [] }, f: {} }, null, true, 0.5, -0],
    [{ nested: { deeper: { deepest: ["x", { y: "z\n" }] } } }, [[["three"]]]],
  ];
  for (const values of cases) {
    assert.equal((await streamed(values)).text(), printed(values), JSON.stringify(values));
    // The same bytes pushed a page at a time (pages of 1, 2 and 3, and an empty one between).
    for (const size of [1, 2, 3]) {
      const c = capture();
      const w = new JsonArrayWriter(c.out);
      for (let i = 0; i < values.length; i += size) {
        await w.pushAll(values.slice(i, i + size));
        await w.pushAll([]);
      }
      await w.end();
      assert.equal(c.text(), printed(values), `pages of ${size}: ${JSON.stringify(values)}`);
    }
  }
});

test("a long array is written in chunks as it goes, draining between them, never as one string", async () => {
  const rows = Array.from({ length: 5000 }, (_, i) => ({ uid: `u${i}`, title: `title ${i}`, revision: i }));
  const c = await streamed(rows);
  assert.equal(c.text(), printed(rows));
  assert.ok(c.chunks.length > 5, `${c.chunks.length} writes`);
  assert.ok(
    c.chunks.every((t) => t.length < 70 * 1024),
    "no write is much larger than a chunk",
  );
  assert.ok(c.drains() >= c.chunks.length - 1);
});

test("an output without drain is written to all the same", async () => {
  const chunks: string[] = [];
  const w = new JsonArrayWriter({ write: (t) => void chunks.push(t) });
  await w.push({ a: 1 });
  await w.end();
  assert.equal(chunks.join(""), printed([{ a: 1 }]));
});
