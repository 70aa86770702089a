/**
 * `rekey completion bash`: a bash completion script generated from the command tree (completion.ts). The
 * tree goes into three lookup functions (sub-commands, options, positional arguments, each keyed by the
 * command path); `_rekey` walks the words typed so far with them. Only plain words checked by
 * completion.ts appear in the generated code.
 */
import {
  allNodes,
  type CompletionNode,
  type CompletionOption,
  pathKey,
  shellQuote,
  type ValueKind,
} from "./completion.js";

/** A value kind as one token: none, file, command, words=a,b. */
export function kindToken(v: ValueKind): string {
  return v.kind === "words" ? `words=${v.words.join(",")}` : v.kind;
}

/** An option as one token: its name, with `=KIND` when it takes a value. */
function optionTokens(o: CompletionOption): string[] {
  return o.names.map((n) => (o.value ? `${n}=${kindToken(o.value)}` : n));
}

function lookup(name: string, arms: Array<[string, string]>): string {
  const lines = arms
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `    ${shellQuote(k)}) REPLY=${shellQuote(v)} ;;`);
  return [`${name}() {`, '  case "$1" in', ...lines, '    *) REPLY="" ;;', "  esac", "}"].join("\n");
}

export function bashScript(root: CompletionNode): string {
  const nodes = allNodes(root);
  const children = lookup(
    "_rekey_children",
    nodes.map((n) => [pathKey(n), n.children.map((c) => c.path.at(-1)!).join(" ")]),
  );
  const options = lookup(
    "_rekey_options",
    nodes.map((n) => [pathKey(n), [...new Set([...n.options.flatMap(optionTokens), "--help"])].join(" ")]),
  );
  const args = lookup(
    "_rekey_args",
    nodes.map((n) => [pathKey(n), [...n.args.map(kindToken), ...(n.variadic ? ["..."] : [])].join(" ")]),
  );
  return `# bash completion for rekey, generated from its command registry by \`rekey completion bash\`.
# Load it in ~/.bashrc:  source <(rekey completion bash)
${children}
${options}
${args}
_rekey_value() {
  local kind="$1" cur="$2"
  case "$kind" in
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    command) COMPREPLY=($(compgen -c -- "$cur")) ;;
    words=*) local w="\${kind#words=}"; COMPREPLY=($(compgen -W "\${w//,/ }" -- "$cur")) ;;
    *) COMPREPLY=() ;;
  esac
}
_rekey() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" word entry valuekind="" npos=0 dashdash="" i REPLY
  local -a kinds
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n $valuekind ]]; then valuekind=""; continue; fi
    if [[ -z $dashdash && $word == -- ]]; then dashdash=1; continue; fi
    if [[ -z $dashdash && $word == -* ]]; then
      _rekey_options "$cmd"
      for entry in $REPLY; do
        if [[ $entry == "$word="* ]]; then valuekind="\${entry#*=}"; fi
      done
      continue
    fi
    if ((npos == 0)); then
      _rekey_children "$cmd"
      if [[ " $REPLY " == *" $word "* ]]; then cmd="\${cmd:+$cmd }$word"; continue; fi
    fi
    npos=$((npos + 1))
  done
  if [[ -n $valuekind ]]; then _rekey_value "$valuekind" "$cur"; return 0; fi
  if [[ -z $dashdash && $cur == -* ]]; then
    _rekey_options "$cmd"
    local names=""
    for entry in $REPLY; do names="$names \${entry%%=*}"; done
    COMPREPLY=($(compgen -W "$names" -- "$cur"))
    return 0
  fi
  if ((npos == 0)); then
    _rekey_children "$cmd"
    if [[ -n $REPLY ]]; then COMPREPLY=($(compgen -W "$REPLY" -- "$cur")); return 0; fi
  fi
  _rekey_args "$cmd"
  read -ra kinds <<<"$REPLY"
  local n=\${#kinds[@]}
  [[ $n -gt 0 && \${kinds[n - 1]} == ... ]] && { n=$((n - 1)); ((npos >= n)) && npos=$((n - 1)); }
  ((npos < n)) && _rekey_value "\${kinds[npos]}" "$cur"
  return 0
}
complete -F _rekey rekey
`;
}
