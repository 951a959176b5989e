#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, and
# runs the tests plain, under ASan+UBSan, under valgrind, and a short fuzz slice.
# Usage: ci/test.sh            (FUZZ_SECONDS=N to fuzz longer; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install.sh

echo "== build and test (plain, -Werror)"
bash ci/build.sh plain
ctest --test-dir build --output-on-failure -j2

echo "== build and test (ASan + UBSan)"
bash ci/build.sh asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j2

echo "== unit tests under valgrind"
for t in build/tests/unit/test_*; do
	[ -x "$t" ] || continue
	valgrind -q --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$t" >/dev/null
	echo "valgrind clean: $(basename "$t")"
done
# The whole harness with every client stack (threads, libunbound, exec children).
(cd tests/facts && valgrind -q --child-silent-after-fork=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99 ../../build/harness/dnschaos run half_vip.lua >/dev/null)
echo "valgrind clean: dnschaos run tests/facts/half_vip.lua"

fuzz=${FUZZ_SECONDS:-30}
if [ "$fuzz" -gt 0 ] && [ -x ci/fuzz.sh ]; then
	echo "== fuzz slice (${fuzz}s per target)"
	FUZZ_SECONDS=$fuzz bash ci/fuzz.sh
fi
echo "ci/test.sh: all passed"
