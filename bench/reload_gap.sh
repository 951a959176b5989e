#!/usr/bin/env bash
# reload_gap.sh - the longest stop in answers while fakeresolver reloads a big
# zone on SIGHUP, for two binaries side by side in one run: the one built
# here (the reload loads on a thread) and one from an older commit (the
# reload ran on the serving loop). One zone, generated once; each binary
# starts on it, the file is replaced by the next serial, SIGHUP, and the SOA
# is asked over UDP every 3 ms until the new serial answers
# (tests/e2e/reload_gap.py does the measuring). Prints both and the ratio.
#
# Usage: bench/reload_gap.sh [--records N] [--new BIN] [--old BIN | --old-commit REV]
#   --records N      address records in the zone (RECORDS, default 1000000)
#   --new BIN        the binary under test (NEW, default build/fakeresolver/fakeresolver)
#   --old BIN        the binary to compare with (OLD); without it, fakeresolver is
#                    built from --old-commit (OLD_COMMIT, default 5c3e425, the last
#                    commit with the reload on the loop) in the scratch directory
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
records=${RECORDS:-1000000}
new=${NEW:-$root/build/fakeresolver/fakeresolver}
old=${OLD:-}
old_commit=${OLD_COMMIT:-5c3e425}

while [ $# -gt 0 ]; do
	case $1 in
	--records) records=$2; shift 2 ;;
	--new) new=$2; shift 2 ;;
	--old) old=$2; shift 2 ;;
	--old-commit) old_commit=$2; shift 2 ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "reload_gap.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done

[ -x "$new" ] || { echo "reload_gap.sh: $new: not built (cmake --build build)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "$old" ]; then
	echo "building fakeresolver at $old_commit (the reload on the loop) ..."
	mkdir -p "$work/src"
	git -C "$root" archive "$old_commit" | tar -x -C "$work/src"
	nice -n 10 cmake -S "$work/src" -B "$work/build" >/dev/null
	nice -n 10 cmake --build "$work/build" -j2 --target fakeresolver-bin >/dev/null
	old=$work/build/fakeresolver/fakeresolver
fi

echo "generating a zone of $records address records ..."
python3 "$here/gen_zone.py" --records "$records" --zone "$work/big.zone" >/dev/null

measure() { # label binary -> "reload_s max_gap_s answers"
	python3 "$root/tests/e2e/reload_gap.py" "$2" --zone "$work/big.zone" --json |
		python3 -c 'import json,sys; f=json.load(sys.stdin); print(f["reload_s"], f["max_gap_s"], f["answers_during"])'
}

read -r old_reload old_gap old_n < <(measure old "$old")
read -r new_reload new_gap new_n < <(measure new "$new")

printf '\n%-34s %10s %16s %18s\n' "binary" "reload s" "longest gap s" "answers meanwhile"
printf '%-34s %10.3f %16.3f %18d\n' "old ($old_commit or --old)" "$old_reload" "$old_gap" "$old_n"
printf '%-34s %10.3f %16.3f %18d\n' "new (load on a thread)" "$new_reload" "$new_gap" "$new_n"
python3 -c 'import sys; o, n = float(sys.argv[1]), float(sys.argv[2]); print("longest gap: old / new = %.0fx" % (o / max(n, 1e-6)))' "$old_gap" "$new_gap"
