#!/usr/bin/env bash
# Every Lua example of README.md and docs/*.md runs as the doc says (a doc
# example that fails is a bug), and the README's own commands (dnschaos run,
# the fakeresolver asked by dig) work. doc_examples.py says how examples are
# run and how a doc marks its preamble, a fragment's setup, the exit a
# scenario shown failing has, and a block left out (`<!-- example: ... -->`).
# DOC_EXAMPLES_ONLY=FILE[:LINE] runs one doc or one example;
# DOC_EXAMPLES_KEEP=DIR keeps the scripts and histories there.
# Usage: doc_examples.sh PATH/TO/dnschaos PATH/TO/fakeresolver REPOSITORY
set -uo pipefail
bin=${1:?dnschaos binary}
fakeresolver=${2:?fakeresolver binary}
repo=${3:?the repository}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
args=()
[ -n "${DOC_EXAMPLES_ONLY:-}" ] && args+=(--only "$DOC_EXAMPLES_ONLY")
[ -n "${DOC_EXAMPLES_KEEP:-}" ] && args+=(--keep "$DOC_EXAMPLES_KEEP")
exec python3 "$here/doc_examples.py" "$bin" "$fakeresolver" "$repo" "${args[@]}"
