/*
 * remote.h - a fakeresolver daemon the run does not start (on another host,
 * in a container, started by the operator) as a farm member: VIPs and
 * clients send it DNS at its address like any resolver, and faults reach it
 * as commands over its control connection (docs/fakeresolver.md "Control
 * connection"), one at a time, on the run's loop. Each command and the
 * daemon's reply is a `remote` line in the history; one that worked is
 * also the `fault` (and `state`) lines a local fake resolver writes. Its
 * queries never cross this process: the daemon streams them on the same
 * connection (`watch`, asked at connect), and each becomes the `query` line
 * a local fake resolver writes, "remote": true, joined to the client's
 * lookup when it reaches the run, its t the daemon's mapped onto the run's
 * clock (the round trip of `watch` bounds the error), its fault ids the
 * run's. Events the daemon had to drop are a `lost` line. A daemon that does
 * not know `watch` is a warning: the run goes on without its queries.
 *
 * Loop thread only.
 */
#ifndef HARNESS_FARM_REMOTE_H
#define HARNESS_FARM_REMOTE_H

#include "fakeresolver/control.h"
#include "fakeresolver/faults.h"
#include "harness/farm/farm.h"

struct run_env;
struct farm_remote;

struct farm_remote_config {
	char name[FARM_NAME_MAX];
	struct addr addr;                 /* where it answers DNS */
	struct addr control;              /* its control connection */
	uint8_t token[CONTROL_TOKEN_MAX]; /* copied; wiped by destroy */
	size_t token_len;
	char where[256];                  /* "file.lua:12", for messages */
};

/* Describes one (nothing is connected yet). NULL on out of memory. */
struct farm_remote *farm_remote_create(struct run_env *env, const struct farm_remote_config *c);

/* Closes the connection (without healing: farm_remote_end does). NULL is a no-op. */
void farm_remote_destroy(struct farm_remote *r);

const char *farm_remote_name(const struct farm_remote *r);
const struct addr *farm_remote_addr(const struct farm_remote *r);

/* "up", "down" (stopped by the run) or "disconnected". */
const char *farm_remote_state(const struct farm_remote *r);

/*
 * The i-th fault the daemon confirmed and has not healed (a stop included),
 * in the order confirmed: its run-wide id, kind ("delay", "stop", ...;
 * static) and seconds until its duration heals it (-1: until healed).
 * False past the last. For a status read (the control socket).
 */
bool farm_remote_fault_at(const struct farm_remote *r, size_t i, uint32_t *id, const char **kind,
                          double *left);

/*
 * Connects, authenticates and asks for the queries (`watch`), blocking up
 * to timeout_s: before the run's clock starts, so that a wrong token or a
 * daemon that is not there fails the run at once (and the round trip of
 * `watch`, which sets the daemon's clock against ours, has the loop's
 * latency in it nowhere). Returns 0, or -1 with err set ("control
 * 127.0.0.1:7001: the daemon refused the token").
 */
int farm_remote_connect(struct farm_remote *r, double timeout_s, char *err, size_t errlen);

/* Puts the connection on the run's loop and records it up. 0 or -1 (out of memory). */
int farm_remote_start(struct farm_remote *r, char *err, size_t errlen);

/*
 * The run ends: sends `heal` and waits (up to 2 s) for the replies owed,
 * records what is healed, and closes. Commands not yet sent are recorded as
 * not sent. Blocks: called once, at the end of the run.
 */
void farm_remote_end(struct farm_remote *r);

/*
 * Commands. Each is queued and sent on the loop once the previous one is
 * answered; what the daemon answers is recorded then. inject, capacity and
 * stop return the run-wide fault id their lines will carry (never 0).
 * spec: match and parameters (wrong by address only); duration_s > 0: the
 * daemon heals it itself after that long (else it lasts until healed, or
 * until the connection closes).
 */
uint32_t farm_remote_inject(struct farm_remote *r, const struct fault_spec *spec, double duration_s);
uint32_t farm_remote_capacity(struct farm_remote *r, double qps, unsigned queue, double duration_s);
uint32_t farm_remote_stop(struct farm_remote *r, double duration_s);
void farm_remote_start_dns(struct farm_remote *r);
/* Heals one fault (its run-wide id) or every fault (0). */
void farm_remote_heal(struct farm_remote *r, uint32_t id);
/* Publishes a zone file that is on the daemon's host (path copied). */
void farm_remote_publish(struct farm_remote *r, const char *path);

#endif
