/**
 * `rekey completion zsh`: a zsh completion function generated from the command tree (completion.ts), with
 * each sub-command's and option's summary shown beside it. Same walk as the bash script; works sourced
 * (`source <(rekey completion zsh)` after compinit) or saved as `_rekey` in a directory of $fpath.
 */

import { allNodes, type CompletionNode, pathKey, shellQuote } from "./completion.js";
import { kindToken } from "./completion-bash.js";

/** Descriptions on one line: zsh's menu shows one line per match. */
const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

function lookup(name: string, arms: Array<[string, string[]]>): string {
  const lines = arms
    .filter(([, v]) => v.length > 0)
    .map(([k, v]) => `    ${shellQuote(k)}) reply=(${v.map(shellQuote).join(" ")}) ;;`);
  return [`${name}() {`, '  case "$1" in', ...lines, "    *) reply=() ;;", "  esac", "}"].join("\n");
}

export function zshScript(root: CompletionNode): string {
  const nodes = allNodes(root);
  const children = lookup(
    "_rekey_children",
    nodes.map((n) => [pathKey(n), n.children.map((c) => `${c.path.at(-1)}:${oneLine(c.summary)}`)]),
  );
  // "NAME[=KIND]:DESCRIPTION"
  const options = lookup(
    "_rekey_options",
    nodes.map((n) => {
      const entries = n.options.flatMap((o) =>
        o.names.map((name) => `${name}${o.value ? `=${kindToken(o.value)}` : ""}:${oneLine(o.description)}`),
      );
      if (!n.options.some((o) => o.names.includes("--help"))) entries.push("--help:show help");
      return [pathKey(n), entries];
    }),
  );
  const args = lookup(
    "_rekey_args",
    nodes.map((n) => [pathKey(n), [...n.args.map(kindToken), ...(n.variadic ? ["..."] : [])]]),
  );
  return `#compdef rekey
# zsh completion for rekey, generated from its command registry by \`rekey completion zsh\`.
# Load it in ~/.zshrc after compinit:  source <(rekey completion zsh)
${children}
${options}
${args}
_rekey_value() {
  local kind=$1
  local -a w
  case $kind in
    file) _files ;;
    command) _command_names -e ;;
    words=*) w=(\${(s:,:)\${kind#words=}}); compadd -a w ;;
  esac
}
_rekey() {
  local -a reply names kinds described
  local cmd="" word entry key valuekind="" dashdash="" cur=\${words[CURRENT]}
  integer i npos=0 n
  for (( i = 2; i < CURRENT; i++ )); do
    word=\${words[i]}
    if [[ -n $valuekind ]]; then valuekind=""; continue; fi
    if [[ -z $dashdash && $word == -- ]]; then dashdash=1; continue; fi
    if [[ -z $dashdash && $word == -* ]]; then
      _rekey_options "$cmd"
      for entry in $reply; do
        key=\${entry%%:*}
        [[ $key == "$word="* ]] && valuekind=\${key#*=}
      done
      continue
    fi
    if (( npos == 0 )); then
      _rekey_children "$cmd"
      names=(\${reply%%:*})
      if (( \${names[(Ie)$word]} )); then cmd=\${cmd:+$cmd }$word; continue; fi
    fi
    (( npos++ ))
  done
  if [[ -n $valuekind ]]; then _rekey_value $valuekind; return; fi
  if [[ -z $dashdash && $cur == -* ]]; then
    _rekey_options "$cmd"
    for entry in $reply; do key=\${entry%%:*}; described+=("\${key%%=*}:\${entry#*:}"); done
    _describe -t options 'rekey option' described
    return
  fi
  if (( npos == 0 )); then
    _rekey_children "$cmd"
    if (( $#reply )); then _describe -t commands 'rekey command' reply; return; fi
  fi
  _rekey_args "$cmd"
  kinds=($reply)
  n=$#kinds
  if (( n > 0 )) && [[ \${kinds[n]} == ... ]]; then (( n-- )); (( npos >= n )) && npos=$(( n - 1 )); fi
  (( npos < n )) && _rekey_value \${kinds[npos+1]}
  return 0
}
if [[ \${funcstack[1]} == _rekey ]]; then
  _rekey "$@"
else
  (( $+functions[compdef] )) || { autoload -Uz compinit && compinit; }
  compdef _rekey rekey
fi
`;
}
