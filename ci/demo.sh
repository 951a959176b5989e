#!/usr/bin/env bash
# The main job: installs what is missing, builds, and replays the incident
# (scenarios/stale_zone_reboot.lua) with every farm event on stderr and the
# run's history in out/stale_zone_reboot.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install.sh
bash ci/build.sh plain
mkdir -p out
build/harness/dnschaos run scenarios/stale_zone_reboot.lua -v \
	--history out/stale_zone_reboot.jsonl
echo "history: out/stale_zone_reboot.jsonl ($(wc -l <out/stale_zone_reboot.jsonl) events)"
