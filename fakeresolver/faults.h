/*
 * faults.h - the fault plan of one fake resolver: which faults are active,
 * which queries they touch, and what happens to each query. Deciding is a
 * plain function (query in, decision out, random choices from a caller's
 * seeded generator); the server carries the decision out with timers.
 *
 * Faults are kept in the order they were injected. For each query, every
 * matching delay adds its latency, and the first matching terminal fault
 * (hang, rcode, truncate, wrong) decides the reply. Capacity is separate: a
 * service rate and a queue in front of everything else.
 */
#ifndef FAKERESOLVER_FAULTS_H
#define FAKERESOLVER_FAULTS_H

#include "fakeresolver/answer.h"
#include "fakeresolver/rng.h"

enum fault_kind {
	FAULT_HANG,     /* no reply at all: a blackholed or wedged process */
	FAULT_DELAY,    /* reply later, by a drawn latency */
	FAULT_RCODE,    /* reply with an error rcode and no records */
	FAULT_TRUNCATE, /* UDP only: reply with TC set and no records */
	FAULT_WRONG,    /* reply with a wrong address, or from another zone version */
};

/* Which queries a fault touches; fault_match_all makes one that touches all. */
struct fault_match {
	double fraction;            /* 0..1: share of matching queries touched (seeded) */
	bool has_name;
	bool below;                 /* "*.suffix": names strictly below name */
	uint8_t name[WIRE_NAME_MAX]; /* lower-case wire */
	size_t name_len;
	uint16_t qtype;             /* 0 = any */
	int transport;              /* -1 = any, else enum answer_transport */
};

/* Sets m to touch every query. */
void fault_match_all(struct fault_match *m);

/*
 * Restricts m to a name pattern: "db.internal" (that name), "*.internal"
 * (every name strictly below internal.), or "*" (any). Case-insensitive; the
 * final dot is optional. Returns 0 or -1 with a reason in err.
 */
int fault_match_name(struct fault_match *m, const char *pattern, char *err, size_t errlen);

struct fault_spec {
	enum fault_kind kind;
	struct fault_match match;
	/* FAULT_DELAY */
	double delay_s;
	double spread_s;
	enum rng_dist dist;
	/* FAULT_RCODE */
	uint16_t rcode;
	/* FAULT_WRONG: an address (family AF_INET or AF_INET6)... */
	int wrong_family;
	uint8_t wrong_addr[16];
	/* ...or answers from another zone set (owned by the plan once added) */
	struct zone_set *wrong_zones;
};

struct fault_plan;

struct fault_plan *fault_plan_create(void);

/* Frees the plan and every fault's owned data. NULL is a no-op. */
void fault_plan_destroy(struct fault_plan *p);

/*
 * Adds a fault; *id gets its id (never 0, unique in this plan). On success the
 * plan owns spec->wrong_zones. Returns 0, or -1 on out of memory.
 */
int fault_plan_add(struct fault_plan *p, const struct fault_spec *spec, uint32_t *id);

/* Removes (heals) one fault. Returns 0, or -1 if the id is not active. */
int fault_plan_remove(struct fault_plan *p, uint32_t id);

/* Removes every fault and the capacity limit. */
void fault_plan_clear(struct fault_plan *p);

/* Number of active faults (the capacity limit not counted). */
size_t fault_plan_count(const struct fault_plan *p);

/* The active fault with this id, or NULL. Borrowed. */
const struct fault_spec *fault_plan_get(const struct fault_plan *p, uint32_t id);

/* Limits service to qps queries per second; at most queue_len queries are in
 * the queue, the one being served included. qps <= 0 removes the limit. */
void fault_plan_set_capacity(struct fault_plan *p, double qps, unsigned queue_len);

/* True if a capacity limit is set; fills its parameters. */
bool fault_plan_capacity(const struct fault_plan *p, double *qps, unsigned *queue_len);

enum fault_action {
	FAULT_ACT_ANSWER,   /* the engine's answer (maybe delayed) */
	FAULT_ACT_DROP,     /* no reply */
	FAULT_ACT_RCODE,
	FAULT_ACT_TRUNCATE,
	FAULT_ACT_WRONG,
};

struct fault_decision {
	enum fault_action action;
	uint32_t fault_id;              /* the fault that chose the action; 0 if none */
	uint32_t delay_id;              /* the (last) delay fault applied; 0 if none */
	double delay_s;                 /* total added latency */
	const struct fault_spec *spec;  /* of fault_id, borrowed; NULL if none */
};

/*
 * Decides what happens to one query (info as filled by wire_query_parse:
 * a query that did not parse matches only faults without name or qtype).
 * Draws from rng only for faults that match and have a fraction below 1, so
 * the same seed and the same queries give the same decisions.
 */
void fault_plan_decide(const struct fault_plan *p, const struct wire_query *q,
		       enum wire_verdict verdict, enum answer_transport transport, struct rng *rng,
		       struct fault_decision *d);

/* "hang", "delay", ... for logs. */
const char *fault_kind_name(enum fault_kind k);
const char *fault_action_name(enum fault_action a);

#endif
