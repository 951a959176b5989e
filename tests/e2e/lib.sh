# shellcheck shell=bash
# lib.sh - helpers the end-to-end test scripts share; sourced, not run.

# started HISTORY PID: waits (10 s at most) until `dnschaos run` has its
# SIGINT/SIGTERM handlers, so that a signal sent next ends it as
# "interrupted" (before, the signal kills it, or, in a background job of a
# script, is ignored). runner_run writes the meta line (to its buffer), arms
# the signals, then starts the farm, whose lines come second; lines reach the
# file only from the event loop or a full buffer. So a history with a meta
# line and another means the handlers are in. Fails if the run died.
started() {
	local _
	for _ in $(seq 200); do
		[ "$(head -1 "$1" 2>/dev/null | grep -c '"type":"meta"')" -eq 1 ] &&
			[ "$(wc -l <"$1")" -ge 2 ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# opened HISTORY PID: waits (60 s at most: an ASan build on a busy 2-core
# machine takes seconds to load its scenario) until `dnschaos run` has
# created HISTORY, which it does once the scenario is loaded, just before
# its clock starts (runner_run). Time spent loading libraries and the
# scenario is no part of a run: a test that times something from the start
# of a run starts its clock here, not at the fork. Fails if the run died.
opened() {
	local _
	for _ in $(seq 1200); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
