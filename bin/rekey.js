#!/usr/bin/env node
// The rekey bin: turn on Node's compile cache (Node >= 22.1) so repeated cold starts skip parsing,
// then load the bundled CLI. A gateway may start one rekey process per rotation: start-up matters.
import module from "node:module";

if (typeof module.enableCompileCache === "function") {
  try {
    module.enableCompileCache();
  } catch {
    // a read-only cache dir only costs speed
  }
}
await import("../dist/cli/main.js");
