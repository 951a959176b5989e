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
	# the sandbox and its real peers: namespaces (util-linux: unshare), the kernel's
	# VIP (nft, conntrack), a real dnsdist, unbound and nsd as VIPs and farm members,
	# and unmodified programs as clients (getent is libc-bin's, curl its own)
	util-linux iproute2 nftables conntrack dnsdist unbound nsd curl
	# the live dashboard rendered in a real terminal (tests/e2e/live_screen.py), and
	# promtool (Debian's prometheus package) to check the --metrics scrape
	tmux prometheus
)
if [ "${DNSCHAOS_BENCH:-0}" = 1 ]; then
	packages+=(dnsperf)
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
# unbound, nsd and dnsdist are installed as programs for the tests to start in
# their own namespaces, never as services: while apt runs, a policy-rc.d of
# ours (unless one is there) tells their packages not to start them, so none
# listens on the host's port 53 or primes from the root servers
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	ours=1
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$ours" = 1 ] && rm -f "$policy"
trap - EXIT
