/*
 * health_sm.h - the decisions of a VIP's health checker, without I/O: what
 * one probe's outcome means (health_judge_*), the rise/fall state machine
 * it feeds (health_sm_*), and the fixed grid probes start on
 * (health_grid_next). No sockets, no event loop, no clock: time is an
 * argument. health.c runs the probes and commands and calls these.
 *
 * The state machine: a backend is up or down. Each probe outcome is a
 * success or a failure. A success ends the run of failures and lengthens
 * the run of successes; a failure the other way round. A backend that is
 * down goes up when its run of successes reaches rise; one that is up goes
 * down when its run of failures reaches fall. Nothing else changes the
 * state: outcomes that agree with it change only the counts, and a run
 * broken before it reaches its threshold is forgotten (no flapping). The
 * run that causes a change is therefore exactly rise (going up) or fall
 * (going down) long. Runs saturate at UINT_MAX.
 *
 * Ownership and threads: a struct health_sm is owned by its creator and used
 * from one thread at a time; the judges write only into what they are given.
 */
#ifndef HARNESS_LB_HEALTH_SM_H
#define HARNESS_LB_HEALTH_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct probe_result;

enum health_kind { HEALTH_ALIVE, HEALTH_RCODE, HEALTH_SERIAL, HEALTH_EXEC };

/* Parses "alive", "rcode", "serial", "exec"; 0, or -1 if unknown (or NULL). */
int health_kind_parse(const char *s, enum health_kind *out);

/* The kind's name ("?" if out of range); static storage. */
const char *health_kind_name(enum health_kind k);

/* ---- the state machine ---- */

struct health_sm;

/* A machine with thresholds rise and fall (0 is taken as 1), starting up or
 * down with no run counted. NULL when out of memory. */
struct health_sm *health_sm_create(unsigned rise, unsigned fall, bool up);

/* A machine in a given state: the runs so far (at most one of them nonzero,
 * as feeding leaves them; a run of successes while down is below rise, a run
 * of failures while up below fall). For restoring a snapshot, and for tests
 * that must reach saturation. NULL on an impossible state or out of memory. */
struct health_sm *health_sm_create_at(unsigned rise, unsigned fall, bool up, unsigned successes,
				      unsigned failures);

/* Frees. NULL is a no-op. */
void health_sm_destroy(struct health_sm *sm);

/* Feeds one probe outcome; returns true if the state changed. After a change,
 * health_sm_run() is the run that caused it (rise or fall). */
bool health_sm_feed(struct health_sm *sm, bool success);

bool health_sm_up(const struct health_sm *sm);

/* The current run of successes (0 after a failure) and of failures (0 after a
 * success). */
unsigned health_sm_successes(const struct health_sm *sm);
unsigned health_sm_failures(const struct health_sm *sm);

/* The run that agrees with the state: successes when up, failures when down.
 * Right after a change this is its count (rise or fall). */
unsigned health_sm_run(const struct health_sm *sm);

/* ---- the verdict on one probe ---- */

/* RFC 1982 serial arithmetic: true if s1 >= s2 (false for the undefined case,
 * s1 and s2 exactly 2^31 apart). */
bool health_serial_ge(uint32_t s1, uint32_t s2);

/*
 * What a DNS probe's result (borrowed) means for a check of kind alive, rcode
 * or serial on the zone origin (presentation form), against the published
 * serial (-1: none). Returns the verdict, writes the reason ("rcode
 * SERVFAIL", "timeout after 0.5 s", "serial 2026110301 < published
 * 2026112502", ...) into reason, and sets *serial to the SOA serial a serial
 * check read, else -1.
 */
bool health_judge_dns(enum health_kind kind, const struct probe_result *res, const char *origin,
		      int64_t published, double timeout_s, int64_t *serial, char *reason,
		      size_t len);

/*
 * What an exec check's command ended with: its wait status (as waitpid gives
 * it), or killed at its timeout_s. Success is exit 0. Writes the reason
 * ("exit 3", "killed by signal 9", "killed after 2 s timeout") and sets
 * *exit_status to the exit status, or -1 if it did not exit.
 */
bool health_judge_exec(int status, bool killed, double timeout_s, int *exit_status, char *reason,
		       size_t len);

/* ---- the grid ---- */

/*
 * Probes start on a fixed grid: given the slot due that has just come (at
 * now >= due, or a little before: a timer may fire early) and the interval,
 * the next slot's time. Slots already past at now are skipped, not run in a
 * burst: the result is after now (up to rounding) and on the grid,
 * due + k * interval for some k >= 1.
 */
double health_grid_next(double due, double now, double interval_s);

#endif
