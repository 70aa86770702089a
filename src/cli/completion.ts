/**
 * Shell completion, the pure part: the command tree as the shells need it, built from the one registry
 * (COMMANDS), so a new command, sub-command or option completes without anyone touching a script. The
 * renderers (completion-bash.ts, completion-zsh.ts) turn it into shell code; every word that goes into
 * that code unquoted is checked here to be a plain word, so nothing in the registry can become shell code.
 */
import type { CommandSpec, OptionSpec } from "./registry.js";

/** What a positional argument or an option value completes to. */
export type ValueKind =
  | { kind: "none" }
  | { kind: "file" }
  | { kind: "command" }
  | { kind: "words"; words: readonly string[] };

export interface CompletionOption {
  /** Every spelling: ["-v", "--verbose"]. */
  names: string[];
  description: string;
  /** Completion of the option's value; undefined for a flag that takes none. */
  value: ValueKind | undefined;
}

export interface CompletionNode {
  /** Words after `rekey`, e.g. ["record", "script"]; [] for the root. */
  path: string[];
  summary: string;
  /** Sub-commands (groups and commands), in registry order. */
  children: CompletionNode[];
  options: CompletionOption[];
  /** Positional arguments in order; `variadic` when the last one repeats (`<command...>`). */
  args: ValueKind[];
  variadic: boolean;
}

/** Placeholder names (`<file>`, `--out <file>`) whose values are paths. */
const FILE_PLACEHOLDERS = new Set(["file", "path", "dir"]);

const WORD_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const FLAG_RE = /^--?[A-Za-z0-9][A-Za-z0-9-]*$/;

function plainWord(word: string, re: RegExp, where: string): string {
  if (!re.test(word)) throw new Error(`completion: "${word}" (${where}) is not a plain word`);
  return word;
}

/** The completion of an argument or option value from its placeholder (`<file>`, `[record]`, `<shell>`). */
function valueKind(placeholder: string, words: Readonly<Record<string, readonly string[]>>): ValueKind {
  const name = placeholder.replace(/[<>[\]]/g, "").replace(/\.{3}$/, "");
  if (FILE_PLACEHOLDERS.has(name)) return { kind: "file" };
  if (name === "command") return { kind: "command" };
  const list = words[name];
  if (list) return { kind: "words", words: list.map((w) => plainWord(w, WORD_RE, placeholder)) };
  return { kind: "none" };
}

function option(o: OptionSpec, words: Readonly<Record<string, readonly string[]>>): CompletionOption {
  const tokens = o.flags.split(/[\s,|]+/).filter(Boolean);
  const names = tokens.filter((t) => t.startsWith("-")).map((t) => plainWord(t, FLAG_RE, o.flags));
  const placeholder = tokens.find((t) => /^[<[]/.test(t));
  return {
    names,
    description: o.description,
    value: placeholder === undefined ? undefined : valueKind(placeholder, words),
  };
}

function node(path: string[], summary: string): CompletionNode {
  return { path, summary, children: [], options: [], args: [], variadic: false };
}

/**
 * The tree of `commands`. `argWords` lists the fixed values of arguments by placeholder name, e.g.
 * `{ shell: ["bash", "zsh"] }` for `completion <shell>`; other placeholders complete to files (`<file>`,
 * `<path>`, `<dir>`), commands (`<command...>`) or nothing (records: completing them would unlock the vault).
 */
export function completionTree(
  commands: readonly CommandSpec[],
  argWords: Readonly<Record<string, readonly string[]>> = {},
): CompletionNode {
  const root = node([], "rekey");
  root.options = [
    { names: ["-V", "--version"], description: "print the version", value: undefined },
    { names: ["-h", "--help"], description: "show help", value: undefined },
  ];
  for (const spec of commands) {
    let parent = root;
    spec.path.forEach((word, i) => {
      plainWord(word, WORD_RE, spec.path.join(" "));
      let child = parent.children.find((c) => c.path[i] === word);
      if (!child) {
        child = node(spec.path.slice(0, i + 1), `${word} commands`);
        parent.children.push(child);
      }
      parent = child;
    });
    parent.summary = spec.summary;
    parent.options = (spec.options ?? []).map((o) => option(o, argWords));
    parent.args = (spec.args ?? []).map((a) => valueKind(a, argWords));
    parent.variadic = (spec.args ?? []).at(-1)?.endsWith("...>") === true;
  }
  // Commander's own `help [command]`.
  root.children.push({ ...node(["help"], "show help for a command"), args: [{ kind: "none" }] });
  return root;
}

/** Every node of the tree, the root first (depth first, registry order). */
export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.children.flatMap(allNodes)];
}

/** A node's path as the scripts key it: words joined by one space ("" for the root). */
export const pathKey = (n: CompletionNode): string => n.path.join(" ");

/** POSIX shell single quotes around any text (descriptions): nothing inside is expanded. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
