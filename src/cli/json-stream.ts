/**
 * A JSON array written as its elements come, byte for byte what `printJson` (JSON.stringify(array, null, 2))
 * writes for the whole array, so `--json` of a listing over 100,000 records is never one string in memory.
 *
 * Why the bytes match: JSON.stringify indents an array element exactly as it would the element alone, one
 * level (two spaces) deeper on every line after its first; a raw newline only ever comes from that
 * indentation (newlines inside strings are escaped as `\n`).
 */
import type { Output } from "./context.js";

/** Text is handed to the output in chunks of about this many characters (fewer, larger writes). */
const CHUNK = 64 * 1024;

export class JsonArrayWriter {
  readonly #out: Output;
  #buffer = "";
  #count = 0;

  constructor(out: Output) {
    this.#out = out;
  }

  /** Append one element; waits for the output to drain when a chunk was written. */
  async push(value: unknown): Promise<void> {
    // Pretty-printed as an element of an array (indented by two spaces more), cut out of that array: one pass,
    // where re-indenting the element's own text was a second one over every line.
    const text = JSON.stringify([value], null, 2);
    this.#buffer += `${this.#count === 0 ? "[\n" : ",\n"}${text.slice(2, -2)}`;
    this.#count++;
    if (this.#buffer.length >= CHUNK) await this.flush();
  }

  /** Append elements (as many `push`es would): one JSON text for them all. */
  async pushAll(values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return;
    const text = JSON.stringify(values, null, 2);
    this.#buffer += `${this.#count === 0 ? "[\n" : ",\n"}${text.slice(2, -2)}`;
    this.#count += values.length;
    if (this.#buffer.length >= CHUNK) await this.flush();
  }

  /** Write what is buffered, then wait until the output can take more. */
  async flush(): Promise<void> {
    if (this.#buffer) {
      this.#out.write(this.#buffer);
      this.#buffer = "";
    }
    await this.#out.drain?.();
  }

  /** Close the array (`[]` when nothing was pushed) and write the rest. */
  async end(): Promise<void> {
    this.#buffer += this.#count === 0 ? "[]\n" : "\n]\n";
    await this.flush();
  }
}
