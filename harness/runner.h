/*
 * runner.h - a scenario run as dnschaos runs it: the run (harness/run/run.h,
 * no Lua: runner_create, runner_run, runner_destroy, ...) described by a
 * scenario file (harness/lua/bind.h: runner_load runs its setup code).
 *
 * Life of a run: runner_create, runner_load (declares the farm and the
 * timeline; nothing listens yet), runner_run (binds, boots, plays the
 * timeline for the scenario's duration, then heals every fault and stops
 * everything), runner_destroy.
 */
#ifndef HARNESS_RUNNER_H
#define HARNESS_RUNNER_H

#include "harness/lua/bind.h"
#include "harness/run/run.h"

#endif
