#!/bin/sh
# Runs a command (the real-daemon scenarios' tests) only where they can run:
# unbound, nft and conntrack installed and user plus network namespaces
# allowed (the sandbox); otherwise says what is missing and exits 77, which
# ctest counts as skipped, never as passed.
for tool in unbound nft conntrack unshare; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skipped: $tool is not installed (ci/install.sh installs it)" >&2
		exit 77
	fi
done
if ! unshare -r -n true 2>/dev/null; then
	echo "skipped: user and network namespaces are not allowed here (the sandbox cannot be had)" >&2
	exit 77
fi
exec "$@"
