/*
 * control.h - the daemon's control connection: a line protocol over TCP on
 * the daemon's event_base, authenticated with a shared token, through which
 * an operator (or a dnschaos scenario, harness/farm/remote.c) injects and
 * heals faults, publishes zone files, stops and starts the DNS ports and
 * reads the status. docs/fakeresolver.md "Control connection" is the manual.
 *
 * Two halves. control_parse and the token helpers are plain functions (no
 * I/O but control_token_read's one file): a command line in, a parsed
 * command out. The listener (control_create) only moves lines: it accepts
 * connections, demands `auth TOKEN` first (compared in constant time), bounds
 * line length, connections and the wait for authentication, and hands each
 * authenticated line to the owner's ops. Replies are one line each, in
 * order: a connection's next line is not read until its command is answered.
 * Everything runs on the thread that runs the base.
 */
#ifndef FAKERESOLVER_CONTROL_H
#define FAKERESOLVER_CONTROL_H

#include "fakeresolver/addr.h"
#include "fakeresolver/faults.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct control;
struct control_conn;

/* A token: 16 to 256 printable ASCII octets without spaces. */
#define CONTROL_TOKEN_MIN 16
#define CONTROL_TOKEN_MAX 256
/* The longest command line, newline excluded. */
#define CONTROL_LINE_MAX 4096
/* The longest reply line (a status with many faults), newline excluded. */
#define CONTROL_REPLY_MAX 65536
/* The longest a fault set over the control connection may last. */
#define CONTROL_DURATION_MAX (7 * 24 * 3600.0)
/*
 * A watching connection's events wait in its output up to this much; past
 * it they are dropped and counted (a `lost` line says how many once the
 * output has drained), so that a controller that reads slowly costs bounded
 * memory and never holds up the DNS path. Under CONTROL_OUT_MAX, the unread
 * replies that close a connection, with room for a status reply.
 */
#define CONTROL_WATCH_MAX (128u * 1024u)
/* An event line's length at most (a query's, with a name of 255 octets escaped); longer ones
 * are queued, never sent at once. */
#define CONTROL_EVENT_MAX 4096

/*
 * Reads a token file: a regular file, not readable or writable by group or
 * others (refused: "FILE: mode 0644 lets others read the token; chmod 600
 * FILE"), holding one token (a final newline is dropped). Returns 0 with the
 * token in out (CONTROL_TOKEN_MAX octets, not NUL-terminated) and its length
 * in *len, or -1 with a reason naming the file in err.
 */
int control_token_read(const char *path, uint8_t *out, size_t *len, char *err, size_t errlen);

/* Compares two tokens in time that depends on neither's content. */
bool control_token_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

enum control_verb {
	CONTROL_INJECT,   /* hang, delay, rcode, truncate, wrong: spec, duration */
	CONTROL_CAPACITY, /* qps, queue, duration */
	CONTROL_HEAL,     /* id (0: every fault) */
	CONTROL_PUBLISH,  /* path */
	CONTROL_STOP,     /* duration */
	CONTROL_START,
	CONTROL_STATUS,
	CONTROL_WATCH, /* stream an event line per query on this connection */
	CONTROL_UNWATCH,
};

struct control_cmd {
	enum control_verb verb;
	struct fault_spec spec; /* CONTROL_INJECT (wrong by address only) */
	double duration;        /* 0: until healed, or until this connection closes */
	double qps;
	unsigned queue;
	uint32_t id;
	const char *path;       /* CONTROL_PUBLISH: points into the parsed line */
};

/*
 * Parses one command line (modified in place; cmd->path points into it):
 *   hang|truncate [MATCH]        delay ms=N [jitter=N] [dist=D] [MATCH]
 *   rcode rcode=NAME [MATCH]     wrong address=IP [MATCH]
 *   capacity qps=N [queue=N] [duration=S]
 *   heal [ID]   publish FILE   stop [duration=S]   start   status   watch   unwatch
 * where MATCH is any of name=PATTERN qtype=TYPE transport=udp|tcp
 * fraction=F duration=S. Returns 0, or -1 with a reason in err
 * ("delay: option 'ms' is required", "unknown command 'hnag' (did you mean
 * 'hang'?)").
 */
int control_parse(char *line, struct control_cmd *cmd, char *err, size_t errlen);

/* What the listener's owner does with the lines. */
struct control_ops {
	/*
	 * One authenticated line (NUL-terminated, without its newline; may be
	 * modified). The owner answers with control_reply, now or later; the
	 * connection reads nothing more until it has.
	 */
	void (*command)(void *arg, struct control_conn *c, char *line);
	/* An authenticated connection closed; c is freed after the call. */
	void (*closed)(void *arg, struct control_conn *c);
};

struct control_config {
	struct addr addr;          /* port 0: a free port */
	uint8_t token[CONTROL_TOKEN_MAX];
	size_t token_len;
	unsigned max_conns;        /* connections open at most (default 8) */
	unsigned auth_timeout_ms;  /* to send `auth TOKEN` (default 5000) */
};

/* Fills in the defaults (address and token left unset). */
void control_config_defaults(struct control_config *cfg);

/*
 * Listens on cfg->addr (cfg copied; ops and arg borrowed). Returns NULL with a
 * reason in err (cannot listen).
 */
struct control *control_create(struct event_base *base, const struct control_config *cfg,
			       const struct control_ops *ops, void *arg, char *err,
			       size_t errlen);

/* Closes every connection (without calling closed) and the listener. NULL is a no-op. */
void control_destroy(struct control *c);

/* The bound address, with the port filled in. */
const struct addr *control_addr(const struct control *c);

/*
 * Answers the command c is waiting on with one line (a newline is added;
 * a line holding a newline is cut there, one longer than CONTROL_REPLY_MAX
 * too) and reads its next line.
 */
void control_reply(struct control_conn *c, const char *line);

/* The peer's address, for messages. Borrowed. */
const struct addr *control_conn_peer(const struct control_conn *c);

/*
 * Events (docs/fakeresolver.md "Watching the queries"): a connection that
 * watches gets event lines between its replies, lines that never start with
 * "ok" or "error" ("query {...}", "arrive {...}", "lost N from=T to=T").
 * control_watch turns it on or off for c (on: TCP_NODELAY, so that an event
 * is not held back waiting for an acknowledgement). control_watchers counts
 * the connections that watch.
 */
void control_watch(struct control_conn *c, bool on);
bool control_conn_watching(const struct control_conn *c);
unsigned control_watchers(const struct control *ctl);

/*
 * Sends one event line (a newline is added) to every watching connection,
 * t being the event's time for a `lost` line. A connection whose output
 * holds nothing gets it written at once, before the caller goes on (the
 * daemon sends a query's event before its reply, so a controller on the
 * same host has the event in its socket by the time the client has the
 * reply); one that holds some gets it queued; one that holds more than
 * CONTROL_WATCH_MAX, or that has dropped events whose `lost` line is not
 * yet queued, drops it and counts it. The `lost` line goes out once its
 * output is empty, or before its next reply, whichever is first. Never
 * blocks, never closes a connection.
 */
void control_event(struct control *ctl, double t, const char *line, size_t n);

#endif
