/**
 * `rekey completion bash|zsh`: the scripts come from the command registry and real shells load them. bash
 * runs `_rekey` on simulated COMP_WORDS/COMP_CWORD; zsh (when installed) sources the script after compinit
 * and runs `_rekey` with zsh's completion builtins replaced by recorders.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { BIN, rekey } from "../testing/cli.js";
import { completionTree } from "./completion.js";
import { bashScript } from "./completion-bash.js";
import { COMMANDS } from "./registry.js";

const hasZsh = spawnSync("zsh", ["-c", "exit 0"]).status === 0;

function bash(script: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", script], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REKEY_BIN: BIN, NODE: process.execPath },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Load the script as a user would (`source <(rekey completion bash)`), then complete each line given. */
function bashComplete(lines: string[][]): string[][] {
  const calls = lines
    .map((words) => {
      const quoted = words.map((w) => `'${w}'`).join(" ");
      return `COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _rekey; echo "\${COMPREPLY[*]}"`;
    })
    .join("\n");
  const r = bash(`source <("$NODE" "$REKEY_BIN" completion bash) || exit 9\n${calls}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout
    .split("\n")
    .slice(0, lines.length)
    .map((l) => l.split(" ").filter(Boolean));
}

test("bash loads the script: `complete -p rekey` names _rekey", () => {
  const r = bash(`source <("$NODE" "$REKEY_BIN" completion bash) && complete -p rekey`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "complete -F _rekey rekey");
});

test("bash: commands, sub-commands, options and argument values come from the registry", () => {
  const [rec, record, recordScript, vault, addOpts, typeValue, shells, nothingAfterShell, historyOpts] =
    bashComplete([
      ["rekey", "rec"],
      ["rekey", "record", ""],
      ["rekey", "record", "script", ""],
      ["rekey", "vault", ""],
      ["rekey", "record", "add", "--t"],
      ["rekey", "record", "add", "--title", ""],
      ["rekey", "completion", ""],
      ["rekey", "completion", "bash", ""],
      ["rekey", "record", "history", "alice", "--"],
    ]);
  assert.deepEqual(rec, ["record"]);
  const recordSubcommands = COMMANDS.filter((c) => c.path[0] === "record" && c.path.length >= 2).map(
    (c) => c.path[1]!,
  );
  assert.deepEqual(record, [...new Set(recordSubcommands)]);
  for (const sub of ["add", "list", "show", "edit", "history", "restore", "script"])
    assert.ok(record!.includes(sub));
  assert.deepEqual(recordScript, ["add", "list", "rm"]);
  const vaultSubcommands = COMMANDS.filter((c) => c.path[0] === "vault").map((c) => c.path[1]!);
  assert.deepEqual(vault, vaultSubcommands);
  for (const sub of ["add-key-file", "backup", "restore"]) assert.ok(vault!.includes(sub));
  assert.deepEqual(addOpts, ["--type", "--title"]);
  assert.deepEqual(typeValue, [], "an option value is not completed as a command or option");
  assert.deepEqual(shells, ["bash", "zsh"]);
  assert.deepEqual(nothingAfterShell, []);
  assert.deepEqual(historyOpts, ["--version", "--reveal", "--json", "--help"]);
});

test("bash: files for <file> arguments and --out <file> values, commands after `exec RECORD --`", () => {
  const [backupFile, outValue, execCommand] = bashComplete([
    ["rekey", "vault", "backup", "/et"],
    ["rekey", "export", "csv", "--out", "/et"],
    ["rekey", "exec", "alice", "--", "bas"],
  ]);
  assert.deepEqual(backupFile, ["/etc"]);
  assert.deepEqual(outValue, ["/etc"]);
  assert.ok(execCommand!.includes("bash"), execCommand!.join(" "));
});

test("a new registry entry completes without touching a script", () => {
  const extra = [
    ...COMMANDS,
    {
      path: ["vault", "compact"],
      args: ["<file>"],
      summary: "x",
      options: [{ flags: "--dry-run", description: "y" }],
      load: COMMANDS[0]!.load,
    },
  ];
  const script = bashScript(completionTree(extra));
  const vaultWords = [...COMMANDS.filter((c) => c.path[0] === "vault").map((c) => c.path[1]!), "compact"];
  assert.ok(script.includes(`'vault') REPLY='${vaultWords.join(" ")}'`), script);
  assert.match(script, /'vault compact'\) REPLY='--dry-run --help'/);
  assert.match(script, /'vault compact'\) REPLY='file'/);
});

test("a registry word that is not a plain word is refused (nothing becomes shell code)", () => {
  const bad = [{ path: ["x;rm"], summary: "s", load: COMMANDS[0]!.load }];
  assert.throws(() => completionTree(bad), /not a plain word/);
});

test("an unknown shell is a usage error (exit 2)", () => {
  const r = rekey(["completion", "fish"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no completion for the shell "fish": rekey completes bash and zsh/);
  assert.equal(r.stdout, "");
});

test("zsh loads the script after compinit and completes from the registry", {
  skip: !hasZsh && "zsh is not installed",
}, () => {
  const script = rekey(["completion", "zsh"]);
  assert.equal(script.code, 0, script.stderr);
  // zsh's completion builtins only work inside a completion widget: record what _rekey asks them to offer.
  const probe = `
autoload -Uz compinit && compinit -u -d "$TMPDIR/zcompdump"
eval "$REKEY_ZSH" || exit 9
print -r -- "comps=$_comps[rekey]"
_describe() { local name=\${@[-1]}; local -a items; items=("\${(@P)name}"); print -r -- "\${(j: :)\${(@)items%%:*}}"; }
_files() { print -r -- "<files>"; }
_command_names() { print -r -- "<commands>"; }
compadd() { local name=\${@[-1]}; print -r -- "\${(j: :)\${(@P)name}}"; }
t() { words=("$@"); CURRENT=$#words; _rekey; }
t rekey rec
t rekey record script ''
t rekey record add --t
t rekey completion ''
t rekey vault backup ''
t rekey exec alice -- ''
`;
  const r = spawnSync("zsh", ["-f", "-c", probe], {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR ?? "/tmp",
      REKEY_ZSH: script.stdout,
    },
  });
  assert.equal(r.status, 0, r.stderr);
  const [comps, top, recordScript, addOpts, shells, file, command] = r.stdout.trim().split("\n");
  assert.equal(comps, "comps=_rekey");
  // _describe gets every candidate; zsh itself filters by the prefix typed.
  assert.ok(top!.split(" ").includes("record") && top!.split(" ").includes("completion"), top);
  assert.equal(recordScript, "add list rm");
  assert.ok(addOpts!.split(" ").includes("--type") && addOpts!.split(" ").includes("--title"), addOpts);
  assert.equal(shells, "bash zsh");
  assert.equal(file, "<files>");
  assert.equal(command, "<commands>");
});
