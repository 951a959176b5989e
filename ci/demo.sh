#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a fake resolver
# serving the shipped example zone, answered by dig. (The incident replay
# scenario replaces this once the scenario runner exists.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install.sh
bash ci/build.sh plain

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
build/fakeresolver/fakeresolver --listen 127.0.0.1:0 \
	--zone scenarios/zones/internal.v2.zone 2>"$work/log" &
pid=$!
for _ in $(seq 50); do grep -q ready "$work/log" && break; sleep 0.1; done
cat "$work/log"
port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/log" | cut -d: -f2)
[ -n "$port" ] || { echo "ci/demo.sh: fakeresolver did not start" >&2; exit 1; }
set -x
dig +norec @127.0.0.1 -p "$port" db-primary.internal A
dig +short @127.0.0.1 -p "$port" api.internal A
