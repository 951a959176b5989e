/*
 * act.h - an action on the farm as data: what a timeline entry, a Lua method
 * called during the run, and (later) a command on a control socket all
 * become, and the one function that carries it out (run_act).
 *
 * A describing layer parses its input into a struct run_action (every
 * option checked, zone versions referenced), and only then acts; an action
 * that is never carried out is freed with run_action_clear, which drops what
 * it references.
 */
#ifndef HARNESS_RUN_ACT_H
#define HARNESS_RUN_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakeresolver/faults.h"
#include "harness/env.h"
#include "harness/farm/farm.h"

struct client;

enum run_verb {
	RUN_NONE,
	/* on a resolver */
	RUN_INJECT,   /* a fault: hang, delay, rcode, truncate, wrong (fault, duration; wrong by zone: boot.zones[0]) */
	RUN_CAPACITY, /* qps, queue, duration */
	RUN_HEAL,     /* fault_id, 0: every fault */
	RUN_STOP,
	RUN_START,    /* boot (has_boot) */
	RUN_CRASH,    /* down, boot (has_boot) */
	RUN_RESTART,  /* boot (has_boot) */
	RUN_RELOAD,   /* boot */
	/* on a zone source */
	RUN_PUBLISH,  /* zone */
	RUN_SOURCE_STOP,
	RUN_SOURCE_START,
	/* on a VIP */
	RUN_REMOVE,   /* backend */
	RUN_RESTORE,  /* backend */
	/* on a client */
	RUN_RATE,     /* rate */
	/* on a managed daemon (process): RUN_STOP, RUN_START and RUN_RESTART
	 * (boot.zones[0]: the zone file to put in place, has_boot) too */
	RUN_SUSPEND,  /* "hang": SIGSTOP (duration: continued after, if > 0) */
	RUN_RESUME,   /* "continue": SIGCONT */
	RUN_KILL,     /* SIGKILL */
	/* on a remote daemon (farm/remote.h): RUN_INJECT, RUN_CAPACITY, RUN_HEAL,
	 * RUN_STOP (duration), RUN_START, and */
	RUN_REMOTE_PUBLISH, /* path: a zone file on the daemon's host */
};

struct run_action {
	enum run_verb verb;
	struct farm_resolver *resolver; /* the target: one of these, per verb */
	struct farm_source *source;
	struct farm_vip *vip;
	struct client *client;
	struct farm_process *process;
	struct farm_remote *remote;
	struct fault_spec fault; /* RUN_INJECT (wrong_zones NULL: built when acting) */
	double duration;         /* RUN_INJECT, RUN_CAPACITY, RUN_SUSPEND: heals itself after, if > 0 */
	double qps;
	unsigned queue;
	uint32_t fault_id;
	struct farm_boot boot;   /* references owned by the action */
	bool has_boot;
	double down;
	struct zone_version *zone; /* RUN_PUBLISH: a reference owned by the action */
	int backend;
	double rate;
	char *path; /* RUN_REMOTE_PUBLISH: owned by the action */
};

/* What an action gave back. */
struct run_result {
	uint32_t fault_id; /* RUN_INJECT, RUN_CAPACITY: the new fault */
	int healed;        /* RUN_HEAL: how many; RUN_RESUME: 1 if it was hung */
};

/* The name of the verb as the scenario API spells it ("crash", "publish", ...). */
const char *run_verb_name(enum run_verb v);

/* The name of the action's target, for messages. */
const char *run_action_target(const struct run_action *a);

/* Drops what the action references and zeroes it. NULL is a no-op. */
void run_action_clear(struct run_action *a);

/* Moves src into dst (dst must be clear); src is zeroed. */
void run_action_move(struct run_action *dst, struct run_action *src);

enum run_act_status {
	RUN_ACT_OK = 0,
	RUN_ACT_REFUSED = -1, /* the action cannot be done (a reload that fails): the scenario's error */
	RUN_ACT_FAILED = -2,  /* the run cannot go on (cannot bind, out of memory): it is stopped as failed */
};

/*
 * Carries out a (borrowed; not consumed) action on the running farm. Returns
 * RUN_ACT_OK with res filled (may be NULL), or an error with its reason in
 * err (without the target's name). RUN_ACT_FAILED has already stopped the
 * run (env_fail: RUNNER_FAILED). env is the run's (runner_env). Loop thread only.
 */
int run_act(struct run_env *env, const struct run_action *a, struct run_result *res, char *err,
	    size_t errlen);

#endif
