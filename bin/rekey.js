#!/usr/bin/env node
// The rekey bin: runs the bundled CLI (dist/cli/main.cjs) through a V8 code cache kept in the user's cache
// directory (src/code-cache/run.ts), so that a cold start deserializes compiled code instead of parsing the
// bundle. A gateway may start one rekey process per rotation: start-up matters. Also run as
// `node bin/rekey.js ...` (the tests do).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
require("../dist/cli/start.cjs").startCli(fileURLToPath(new URL("../dist/cli/main.cjs", import.meta.url)));
