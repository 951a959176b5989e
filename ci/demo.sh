#!/usr/bin/env bash
# The main job: installs what is missing, builds, and replays the incident
# (scenarios/stale_zone_reboot.lua) with every farm event on stderr, the
# verdict of its expectations (the exit status), the run's history in
# out/stale_zone_reboot.jsonl and its timeline in out/stale_zone_reboot/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install.sh
bash ci/build.sh plain
mkdir -p out
build/harness/dnschaos run scenarios/stale_zone_reboot.lua -v \
	--history out/stale_zone_reboot.jsonl --report out/stale_zone_reboot
# Every answer the services got, as the history classifies it.
python3 - out/stale_zone_reboot.jsonl <<'PY'
import collections, json, sys
count = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["type"] == "lookup" and e["event"] != "invoke":
        count[e["client"]][e.get("class") or e["event"]] += 1
for client, c in sorted(count.items()):
    print(f"{client:16} " + ", ".join(f"{n} {k}" for k, n in c.most_common()))
PY
echo "history: out/stale_zone_reboot.jsonl ($(wc -l <out/stale_zone_reboot.jsonl) events)"
echo "report:  out/stale_zone_reboot/index.html"
