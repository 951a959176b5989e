#!/usr/bin/env bash
# ci/fuzz.sh - builds the libFuzzer targets with clang and fuzzes each one for
# FUZZ_SECONDS seconds (default 60), starting from a scratch copy of its seed
# corpus so the repository is never written to. Exits non-zero if any target
# finds a crash, leak, timeout or out-of-memory, and says where the reproducer is.
# FUZZ_SECONDS=0 only builds and runs the seeds once.
#
#   FUZZ_SECONDS=30 ci/fuzz.sh            # every target, 30 s each
#   ci/fuzz.sh fuzz_zone                  # one target
#
# Environment: FUZZ_SECONDS, BUILD_DIR (default build-fuzz), CC (default clang),
# FUZZ_SCRATCH (default a new directory under TMPDIR), JOBS (build parallelism).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_answer fuzz_zone fuzz_hist)

case $seconds in
'' | *[!0-9]*)
	echo "ci/fuzz.sh: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
	exit 2
	;;
esac

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DDNSCHAOS_FUZZ=ON -DDNSCHAOS_TESTS=OFF -DDNSCHAOS_WERROR=ON >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}"

scratch=${FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/dnschaos-fuzz.XXXXXX")}
failed=()
for t in "${targets[@]}"; do
	seeds=$root/tests/fuzz/corpus/${t#fuzz_}
	bin=$build/tests/fuzz/$t
	work=$scratch/$t
	if [ ! -d "$seeds" ] || [ ! -x "$bin" ]; then
		echo "ci/fuzz.sh: unknown target '$t' (no $seeds or no $bin)" >&2
		exit 2
	fi
	mkdir -p "$work/corpus" "$work/artifacts"
	cp -R "$seeds/." "$work/corpus/"
	echo "== $t: ${seconds}s from $(ls "$work/corpus" | wc -l) seeds"
	if [ "$seconds" -eq 0 ]; then
		limit=(-runs=0) # -max_total_time=0 would mean no limit at all
	else
		limit=(-max_total_time="$seconds")
	fi
	rc=0
	# libFuzzer writes crash-*, leak-*, timeout-* and oom-* files into artifacts/.
	(cd "$work" && "$bin" "${limit[@]}" -timeout=5 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" corpus) \
		>"$work/fuzz.log" 2>&1 || rc=$?
	grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
		"$work/fuzz.log" || true
	if [ "$rc" -ne 0 ]; then
		failed+=("$t")
		echo "!! $t failed (exit $rc). End of its log ($work/fuzz.log):"
		tail -n 60 "$work/fuzz.log"
		for a in "$work"/artifacts/*; do
			[ -e "$a" ] || continue
			echo "!! reproducer: $a"
			echo "!!   replay:   $bin $a"
			echo "!!   minimize: $bin -minimize_crash=1 -runs=100000 $a"
		done
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "ci/fuzz.sh: failures in ${failed[*]}; everything is kept in $scratch" >&2
	echo "Fix the bug, add the reproducer to tests/fuzz/corpus/<target>/, re-run." >&2
	exit 1
fi
[ -n "${FUZZ_SCRATCH:-}" ] || rm -rf "$scratch"
echo "ci/fuzz.sh: no findings in ${targets[*]} (${seconds}s each)"
