/*
 * clienttest.h - what the client driver tests share: a stand-in for the
 * client core (the struct client a driver is handed, client_cfg, client_base,
 * client_done, client_stopping), fakeresolver servers with a log of every
 * query they saw, and silent UDP sockets that show a dead target's retries.
 *
 * The stand-in replaces harness/clients/client.c, so a test links only its
 * drivers, this library and lookup.c (part of it). It checks the driver
 * contract of client.h on the way: a threaded driver never calls
 * client_done; a loop driver never from inside start(), and from close()
 * only once close has begun.
 *
 * Every helper fails the running cmocka test (rather than returning an error)
 * when something it sets up does not work, so a test reads as a list of
 * assertions.
 */
#ifndef DNSCHAOS_TESTS_CLIENTTEST_H
#define DNSCHAOS_TESTS_CLIENTTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "fakeresolver/addr.h"
#include "fakeresolver/faults.h"
#include "fakeresolver/rng.h"
#include "fakeresolver/server.h"
#include "fakeresolver/wire.h"
#include "harness/clients/client.h"

struct event;
struct event_base;

/* ---- the stand-in for the client core ---- */

/* One client_sent call: what a driver said its stack sent. */
struct ct_sent {
	uint64_t lookup; /* the lookup's id; 0: NULL (the owner of the id) */
	uint16_t port;
	int id;
	uint16_t qtype;
};

#define CT_SENT_MAX 64

/*
 * What a driver's client is here: its config and just enough state to run
 * it and check the contract. Tests set the fields directly.
 */
struct client {
	struct client_config cfg;
	struct event_base *base;   /* loop drivers' loop; NULL: a threaded driver's client */
	atomic_bool stopping;      /* what client_stopping says; set around a loop driver's close */
	atomic_uint done_threaded; /* client_done without a loop: a threaded driver's violation */

	/* loop drivers: set by the test around start(), read back by client_done */
	bool in_start;
	bool done_in_start;        /* a contract violation */
	unsigned done;             /* client_done calls outside close */
	unsigned done_in_close;
	unsigned want;             /* the loop stops when done reaches it */
	void (*on_done)(void *arg, struct lookup *lk); /* instead of counting toward want */
	void *on_done_arg;

	/* client_sent calls, in order (later ones are not kept) */
	struct ct_sent sent[CT_SENT_MAX];
	size_t nsent;
};

/*
 * The core's config defaults (client_config_defaults) for stack, named "t",
 * aimed at target (NULL: no target, ss_family 0). No loop: set base for a
 * loop driver.
 */
void ct_client_init(struct client *c, enum client_stack stack, const struct addr *target);

/*
 * Checks that the driver kept the contract (no client_done from a threaded
 * driver, none from inside start) and frees the strings the config owns.
 */
void ct_client_clear(struct client *c);

/* ct_client_init on the heap; free with ct_client_free (which clears it first). */
struct client *ct_client_new(enum client_stack stack, const struct addr *target);
void ct_client_free(struct client *c);

/* Appends a copy of domain to the search list. */
void ct_add_search(struct client *c, const char *domain);

/* Binds the client's source to an address ("127.0.0.2", "[::1]:0"; port 0 by default). */
void ct_set_source(struct client *c, const char *text);

/*
 * Sets lk up as the core hands a lookup over (rcode -1), but with an outcome
 * no driver leaves (LOOKUP_CANCELLED, REASON_COUNT, error "unset"), so that a
 * test proves the driver filled one. qtype 0: A, or AAAA for family AAAA.
 */
void ct_lookup_init(struct lookup *lk, uint64_t id, const char *name, enum client_family family,
		    uint16_t qtype);

/* True if text (an IPv4 or IPv6 address) is among the lookup's addresses. */
bool ct_has_addr(const struct lookup *lk, const char *text);

/* Fails the test, naming what was there, unless text is among the lookup's addresses. */
void ct_assert_addr(const struct lookup *lk, const char *text);

/*
 * Fails the test, with the whole outcome in the message, unless the lookup
 * ended with result and reason, and (error not NULL) with that error text.
 */
void ct_assert_outcome(const struct lookup *lk, enum lookup_result result,
		       enum lookup_reason reason, const char *error);

/* ---- fakeresolver servers and what they saw ---- */

/* One query as a server received it. */
struct ct_seen {
	enum answer_transport transport;
	struct addr peer;
	char peer_ip[INET6_ADDRSTRLEN]; /* the peer's address as text */
	uint16_t peer_port;
	char qname[WIRE_NAME_MAX * 4];  /* presentation form, lower case, final dot */
	uint16_t id, qtype, flags;
	bool edns;
	uint16_t udp_size;              /* advertised in the OPT record */
	double at;                      /* clock_mono() on arrival */
};

#define CT_SEEN_MAX 512   /* queries logged; later ones are not */
#define CT_SERVERS_MAX 2

/*
 * Servers for one zone set on one event loop, and the log of what they all
 * saw. The loop runs on the farm's own thread after ct_farm_start (threaded
 * drivers block, so the server must answer from elsewhere); without it, the
 * test runs base itself (a loop driver sharing the loop with its server) and
 * may then read seen and nseen directly.
 */
struct ct_farm {
	struct event_base *base;
	struct zone_set *zones;
	struct fault_plan *plan;   /* NULL until the first ct_farm_fault */
	struct rng rng;            /* the plan's draws; seeded 1 */
	struct server *servers[CT_SERVERS_MAX];
	size_t nservers;
	struct event *tick;        /* wakes the thread's loop to see stop */
	pthread_t thread;
	bool threaded;
	atomic_bool stop;
	pthread_mutex_t mu;        /* the log: the loop thread writes, the test reads */
	struct ct_seen seen[CT_SEEN_MAX];
	size_t nseen;
};

/* A farm serving zones (owned from now on), with no server yet. */
struct ct_farm *ct_farm_new(struct zone_set *zones);

/*
 * A server on where ("127.0.0.1:0": a port of the kernel's choice), logging
 * into the farm and carrying out its faults. NULL if it cannot bind and
 * must is false; fails the test if must is true. Call before ct_farm_start.
 */
struct server *ct_farm_listen(struct ct_farm *f, const char *where, bool must);

/* The first server's address. */
const struct addr *ct_farm_addr(const struct ct_farm *f);

/*
 * A fault of kind on name (NULL: every name; fails the test on a bad one) and
 * qtype (0: every type), answering rcode for FAULT_RCODE; a constant delay
 * (delay_s 0) otherwise. Adjust the rest before ct_farm_fault.
 */
struct fault_spec ct_fault(enum fault_kind kind, const char *name, uint16_t qtype,
			   uint16_t rcode);

/*
 * Adds the fault to the farm's plan, made and given to every server at the
 * first. Before ct_farm_start: the loop thread reads the plan unlocked.
 */
void ct_farm_fault(struct ct_farm *f, struct fault_spec spec);

/* Runs the farm's loop on a thread of its own until ct_farm_free. */
void ct_farm_start(struct ct_farm *f);

/* Copies what the servers saw so far (at most cap queries) into out; returns how many. */
size_t ct_farm_seen(struct ct_farm *f, struct ct_seen *out, size_t cap);

/* ct_farm_seen, then forgets them all (out NULL and cap 0: only forgets). */
size_t ct_farm_take(struct ct_farm *f, struct ct_seen *out, size_t cap);

/* Stops the thread if it runs and frees the servers, the plan and the zones. */
void ct_farm_free(struct ct_farm *f);

/* ---- dead targets ---- */

/*
 * A UDP socket bound on ip (a port of the kernel's choice) that nobody
 * reads: a nameserver that never answers, whose queries can be read back
 * with ct_silent_read. Its address goes to out; close the returned fd.
 */
int ct_silent_socket(const char *ip, struct addr *out);

/* An address on ip where nothing listens: the kernel answers port unreachable. */
void ct_closed_port(const char *ip, struct addr *out);

/* A query that reached a silent socket. */
struct ct_datagram {
	uint16_t port; /* the sender's source port */
	uint16_t id;
	uint16_t qtype;
};

/*
 * Reads every query waiting on a silent socket, without waiting; returns how
 * many. Fails the test on more than cap, or on a datagram that is not a
 * query with a question.
 */
size_t ct_silent_read(int fd, struct ct_datagram *out, size_t cap);

#endif
