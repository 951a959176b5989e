#!/usr/bin/env bash
# Configures and builds one configuration of dnschaos.
# Usage: ci/build.sh [plain|asan]   (default plain; build dirs: build/, build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-plain}
case "$kind" in
plain) dir=build; opts=() ;;
asan) dir=build-asan; opts=(-DDNSCHAOS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
*) echo "ci/build.sh: unknown configuration '$kind' (plain or asan)" >&2; exit 2 ;;
esac
# Warnings are errors here: this is the configuration CI runs.
cmake -S . -B "$dir" -DDNSCHAOS_WERROR=ON "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory >/dev/null
echo "ci/build.sh: built $kind in $dir/"
