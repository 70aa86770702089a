#!/usr/bin/env node
// The rekey bin: runs the bundled CLI (dist/cli/main.cjs) through a V8 code cache kept in the user's cache
// directory (src/code-cache/run.ts), so that a cold start deserializes compiled code instead of parsing the
// bundle. A gateway may start one rekey process per rotation: start-up matters. Also run as
// `node bin/rekey.js ...` (the tests do).
//
// CommonJS (bin/package.json says so, the root package being ESM): an ES module entry makes Node set up its
// ESM loader first, measured at ~7 ms of every start.
"use strict";
const { join } = require("node:path");

require("../dist/cli/start.cjs").startCli(join(__dirname, "..", "dist", "cli", "main.cjs"));
