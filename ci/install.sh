#!/usr/bin/env bash
# Installs the Debian 12 packages dnschaos needs to build, test and run.
# Idempotent: quiet when everything is already there. Needs root for apt-get.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config git
	# libraries (through pkg-config)
	libldns-dev libevent-dev liblua5.4-dev libcmocka-dev libc-ares-dev libunbound-dev
	# tests and tools: dig, drill, python3 for checks, clang + libFuzzer, valgrind,
	# xmllint (libxml2-utils: JUnit reports against their schema), prove (perl: TAP),
	# chromium (the HTML report rendered headless)
	bind9-dnsutils ldnsutils python3 python3-jsonschema clang libclang-rt-14-dev valgrind procps
	libxml2-utils perl chromium
)
if [ "${DNSCHAOS_BENCH:-0}" = 1 ]; then
	packages+=(dnsperf nsd dnsdist unbound)
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "ci/install.sh: missing packages: ${missing[*]}" >&2
	echo "ci/install.sh: run this script as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "ci/install.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
