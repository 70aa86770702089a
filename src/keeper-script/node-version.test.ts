import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "../testing/keeper-script.js";
import { MIN_NODE_VERSION, nodeVersionProblem } from "./node-version.js";

test("the minimum is package.json's engines.node", () => {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { engines: { node: string } };
  assert.equal(pkg.engines.node, `>=${MIN_NODE_VERSION.replace(/\.0$/, "")}`);
});

test("older than 20.19 is a problem naming both versions; 20.19 and later are not", () => {
  const cases: Array<[string, boolean]> = [
    ["18.0.0", true],
    ["v16.20.2", true],
    ["20.0.0", true],
    ["20.18.3", true],
    ["20.19.0", false],
    ["20.20.2", false],
    ["v22.1.0", false],
    ["24.0.0-pre", false],
    ["20.19.0-rc.1", false],
  ];
  for (const [version, tooOld] of cases) {
    const problem = nodeVersionProblem(version);
    assert.equal(problem !== undefined, tooOld, version);
    if (problem) {
      assert.match(problem, /needs Node\.js >= 20\.19, but runs on Node\.js /);
      assert.ok(problem.includes(version.replace(/^v/, "")), problem);
      assert.ok(!problem.includes("\n"), "one line");
    }
  }
});
