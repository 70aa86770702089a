/**
 * How the Keeper script's payload rides in its single file (script-loader.ts; scripts/build.mjs writes it): as
 * the text of a comment in `(function(){/*PAYLOAD*\/})`, each "*\/" inside it written as `close`. V8 skips a
 * comment far faster than it scans a megabyte-long string literal and its escapes, and that happens at every
 * start.
 */

/** The payload back from the carrier function: Function.prototype.toString gives its exact source. */
export function payloadOf(carrier: () => void, close: string): string {
  const text = carrier.toString();
  const body = text.slice(text.indexOf("/*") + 2, text.lastIndexOf("*/"));
  return body.includes(close) ? body.replaceAll(close, "*/") : body;
}
