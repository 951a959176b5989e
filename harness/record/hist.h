/*
 * hist.h - a history file read back: the JSONL lines of docs/history.md
 * parsed once into compact arrays per event type, for the checker and the
 * reports. The file's bytes are kept, so any line can be read again whole
 * (the Lua escape hatch gets lines as tables).
 *
 * Strings that repeat (client, stack, resolver, backend, vip, name, ...) are
 * interned: a field holds a small id, hist_str() gives the text back, and
 * HIST_NONE means absent. Times are the lines' `t`, seconds since the start.
 *
 * A last line without its "\n" is a cut line (a killed run) and is dropped.
 * Any other line that is not what docs/history.md describes is an error
 * naming the file and the line.
 */
#ifndef HARNESS_RECORD_HIST_H
#define HARNESS_RECORD_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_NONE UINT32_MAX

/*
 * The longest line hist_load reads, its "\n" not counted: the longest line
 * the writer writes (HISTORY_LINE_MAX, 16 MiB) with room for the spaces it
 * pads a line with (under 4 KiB). A longer line is refused as soon as that
 * much of it is read, so a huge line costs no more memory than this.
 */
#define HIST_LINE_MAX (16 * 1024 * 1024 + 8192)

struct hist;

enum hist_type {
	HIST_META,
	HIST_FAULT,
	HIST_PUBLISH,
	HIST_BOOT,
	HIST_QUERY,
	HIST_STATE,
	HIST_LOG,
	HIST_END,
	HIST_ROUTE,
	HIST_HEALTH,
	HIST_GATE,
	HIST_LOOKUP,
	HIST_VERSION,
	HIST_STALL,
	HIST_VIP,
	HIST_BACKEND_STATS,
	HIST_CONTROL,
	HIST_LOST,
	HIST_OTHER,
	HIST_TYPES
};

/* A zone version's content digest (SHA-256, see docs/history.md "version"). */
#define HIST_DIGEST_LEN 32
/* No version: a publish or boot line without a digest. */
#define HIST_NO_VERSION UINT32_MAX

/* An address of a lookup's answer (the same layout as struct lookup_addr). */
struct hist_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t a[16];
};

/* lookup lines */
enum hist_lk_event { HIST_LK_INVOKE, HIST_LK_OK, HIST_LK_FAIL, HIST_LK_TIMEOUT, HIST_LK_CANCELLED };
enum hist_class { HIST_CLASS_NONE, HIST_CLASS_FRESH, HIST_CLASS_STALE, HIST_CLASS_WRONG };

/*
 * One lookup: its invoke and its completion merged (t_done < 0 while there
 * is none: the run was cut). Ordered by invoke.
 */
struct hist_lookup {
	double t_invoke, t_done;
	double latency_ms;        /* from the completion line */
	uint64_t id;
	uint32_t client, stack, name, target; /* interned */
	uint32_t reason, error;   /* interned; HIST_NONE when absent */
	uint32_t wire;            /* wire queries joined (the completion's "wire") */
	uint32_t serial;          /* matched version, when classified fresh or stale */
	uint8_t event;            /* enum hist_lk_event of the completion (INVOKE: none yet) */
	uint8_t cls;              /* enum hist_class */
	bool grace;
	uint32_t line;            /* line number of the invoke (1-based) */
	uint32_t line_done;       /* line number of the completion, 0 if none */
	uint8_t want;             /* the invoke's family or qtype: 1 A, 2 AAAA, 3 both, 0 other */
	bool stale_unknown;       /* stale_records names an address not in answers */
	uint16_t naddrs;          /* answers (hist_lookup_addrs) */
	uint32_t addr_first;
	uint64_t stale;           /* bit i: answers[i] is in stale_records */
	uint8_t stale_possible;   /* enum hist_stale_possible: set by rederive.c */
};

/* Could a lookup's answer have been stale (a version the run knew answers its
 * name otherwise than the published one)? Worked out by re-deriving. */
enum hist_stale_possible { HIST_SP_UNKNOWN, HIST_SP_NO, HIST_SP_YES };

/* query lines (what a fake resolver saw) and route lines (what a VIP did) */
enum hist_cause { HIST_CAUSE_NONE, HIST_CAUSE_FIRST, HIST_CAUSE_PAIR, HIST_CAUSE_SEARCH,
		  HIST_CAUSE_RETRY };

struct hist_query {
	double t;
	uint32_t resolver;       /* interned */
	uint32_t action;         /* interned: answered, dropped, rcode, ... */
	uint32_t rcode;          /* interned or HIST_NONE */
	uint32_t fault;          /* fault id, 0 when none */
	uint32_t delay_fault;
	uint64_t lookup;         /* joined lookup id, 0 when none */
	uint32_t client;         /* interned or HIST_NONE */
	uint32_t src;            /* interned: where it came from, "127.0.0.1:41873" */
	uint8_t cause;           /* enum hist_cause */
	bool gate;
	bool ambiguous;          /* join: "ambiguous" (no lookup: several could have sent it) */
	uint32_t line;
};

struct hist_route {
	double t;
	uint32_t vip, backend;   /* interned; backend HIST_NONE when none was up */
	uint32_t action;         /* interned */
	bool new_flow, tcp;
	bool relay;              /* refused-icmp/-noicmp: a refusal relayed for a query routed
				  * earlier (its t is the relay's), not a routing decision */
	uint64_t lookup;
	uint64_t for_lookup;     /* a relayed refusal: the lookup of the query it answers, or 0 */
	uint32_t client;
	uint8_t cause;
	bool ambiguous;          /* join: "ambiguous" */
	uint32_t line;
};

/* backend_stats lines: a dnsdist VIP's counters for one backend, when they moved. */
struct hist_bstat {
	double t;                /* the poll that read them */
	uint32_t vip, backend;   /* interned */
	uint64_t queries, new_queries, responses, drops;
	uint32_t line;
};

/* HIST_H_OTHER: an event no metric reads (`flushed`, or one this reader does not know). */
enum hist_health_event { HIST_H_PROBE, HIST_H_UP, HIST_H_DOWN, HIST_H_REMOVED, HIST_H_MEMBER,
			 HIST_H_OTHER };

struct hist_health {
	double t;
	uint32_t vip, backend;
	uint8_t event;           /* enum hist_health_event */
	bool ok;                 /* probe */
	int64_t serial;          /* probe of a serial check with an answer, else -1 */
	uint32_t reason;         /* interned */
	uint32_t line;
};

struct hist_fault {
	double t;
	uint32_t target, kind;   /* interned: "r2", "hang" */
	uint32_t id;
	bool inject;             /* false: heal */
	double duration;         /* inject: seconds until it heals itself, 0 if not given */
	double qps;              /* capacity */
	double down;             /* crash */
	bool manual;             /* an operator's, from the control socket */
	uint32_t line;
};

struct hist_publish {
	double t;
	uint32_t source, zone;
	uint32_t serial;
	bool initial;
	bool manual;             /* an operator's, from the control socket */
	uint32_t version;        /* index in hist_versions (by digest), or HIST_NO_VERSION */
	uint32_t file;           /* interned: the file as the line gives it */
	uint32_t line;
};

/* A resolver's zones after a boot or reload: "internal. 2026112502" split. */
struct hist_boot {
	double t;
	/* When what it loaded began to be served: a start's boot line follows the
	 * state line "up" of that start by a few microseconds, and counts from it;
	 * a reload's (no state line of its own) from its own t. */
	double from;
	uint32_t resolver;
	bool ok, reload;
	uint32_t nzones;
	uint32_t zone[4];        /* interned origins (the first four) */
	uint32_t serial[4];
	uint32_t version[4];     /* index in hist_versions (by digest), or HIST_NO_VERSION */
	uint32_t line;
};

/* A zone version the run knew (a version line), once per content. */
enum hist_known { HIST_KNOWN_PUBLISHED, HIST_KNOWN_DISK, HIST_KNOWN_TRANSFER };
struct hist_version {
	double t;
	uint32_t zone;           /* interned origin, "internal." */
	uint32_t serial;
	uint8_t digest[HIST_DIGEST_LEN];
	uint8_t known;           /* enum hist_known */
	uint32_t file;           /* interned, relative to the scenario's folder; HIST_NONE: none */
	uint32_t line;
};

struct hist_gate {
	double t;
	uint32_t resolver;
	bool gated;
	uint32_t line;
};

/* The harness's own loop was held up (docs/history.md, "stall"). */
/* A command on the control socket (docs/gameday.md). */
struct hist_control {
	double t;
	uint32_t command;        /* interned: "r1 hang duration=30", "pause", ... */
	bool ok;
	uint32_t error;          /* interned, HIST_NONE when ok */
	uint32_t line;
};

struct hist_stall {
	double t;                /* when the loop ran again */
	double from;             /* when it last ran before */
	double held_ms;          /* how long it was held past its tick */
	uint32_t line;
};

/* A remote daemon dropped some of its query events (docs/history.md, "lost"). */
struct hist_lost {
	double t;
	uint32_t target;  /* interned: the remote daemon's name */
	uint64_t queries; /* events dropped */
	double from, to;  /* when, run seconds: the first dropped and the last */
	uint32_t line;
};

struct hist_state {
	double t;
	uint32_t resolver;       /* or the source's name */
	uint32_t state;          /* interned: down, booting, up */
	uint32_t line;
};

struct hist_meta {
	const char *scenario, *name, *dnschaos;
	uint64_t seed;
	double duration;
	/* "ldns 1.8.3", ... as written (library versions of every stack) */
	const char *versions[8][2];
	size_t nversions;
};

/*
 * Reads path, a regular file (a FIFO, a device or a directory is refused
 * without blocking), up to the size it has when opened. Returns NULL with
 * "FILE:LINE: reason" (or "FILE: reason") in err for what docs/history.md
 * forbids: not a history (no meta first line), malformed JSON, a line longer
 * than HIST_LINE_MAX, a key twice in a line, a number that is not finite, a
 * negative duration (a field ending in _ms), \u0000 in a string, a field of
 * the wrong type, t going backwards, a line after the end line; and for out
 * of memory. The caller frees the result with hist_free.
 */
struct hist *hist_load(const char *path, char *err, size_t errlen);
void hist_free(struct hist *h);

const struct hist_meta *hist_meta(const struct hist *h);

/* The end line: whether there is one, its reason ("duration", "interrupted",
 * "error") and error text; NULL when the run was cut (killed). */
const char *hist_end_reason(const struct hist *h);
const char *hist_end_error(const struct hist *h);

/* The time of the last line. */
double hist_last_t(const struct hist *h);

/* Interned strings: the text of an id (NULL for HIST_NONE), or the id of a text. */
const char *hist_str(const struct hist *h, uint32_t id);
uint32_t hist_find(const struct hist *h, const char *s);

const struct hist_lookup *hist_lookups(const struct hist *h, size_t *n);
const struct hist_query *hist_queries(const struct hist *h, size_t *n);
const struct hist_route *hist_routes(const struct hist *h, size_t *n);

/*
 * A `vip` line: a VIP as it started. The userspace VIP (no kind) writes route
 * lines; a kernel VIP (kind "nftables") routes in the kernel, never in route
 * lines, and its backends' query lines are joined to lookups; a dnsdist VIP
 * (kind "dnsdist") forwards with its own address and ids: its queries are
 * never joined to lookups, and what it did is read back from its counters
 * (backend_stats) every poll_s.
 */
struct hist_vip {
	double t;
	uint32_t vip;            /* interned */
	bool kernel;             /* kind "nftables" */
	uint32_t backend[16];    /* kernel VIPs: the backends' names, interned */
	uint8_t nbackends;
	uint16_t in_map;         /* kernel VIPs: bit i: backend[i] in the map at start */
	bool in_map_known;       /* the line had `in_map` (older histories do not) */
	double flow_idle;        /* kernel VIPs: conntrack's UDP timeout, seconds */
	bool dnsdist;            /* kind "dnsdist" */
	double poll_s;           /* dnsdist: the poll period ("poll_ms"), else 0 */
	bool checks;             /* dnsdist: it health-checks its servers (probes not read back) */
	uint32_t line;
};

/* The kernel VIP (kind "nftables") named vip (interned), or NULL. */
const struct hist_vip *hist_kernel_vip(const struct hist *h, uint32_t vip);
const struct hist_health *hist_healths(const struct hist *h, size_t *n);
const struct hist_fault *hist_faults(const struct hist *h, size_t *n);
const struct hist_publish *hist_publishes(const struct hist *h, size_t *n);
const struct hist_boot *hist_boots(const struct hist *h, size_t *n);
const struct hist_gate *hist_gates(const struct hist *h, size_t *n);
const struct hist_state *hist_states(const struct hist *h, size_t *n);
const struct hist_version *hist_versions(const struct hist *h, size_t *n);
const struct hist_stall *hist_stalls(const struct hist *h, size_t *n);
const struct hist_lost *hist_losts(const struct hist *h, size_t *n);
const struct hist_control *hist_controls(const struct hist *h, size_t *n);
const struct hist_vip *hist_vips(const struct hist *h, size_t *n);
const struct hist_bstat *hist_backend_stats(const struct hist *h, size_t *n);

/* Whether the VIP named vip (interned) is a dnsdist one; its poll period in *poll_s
 * (may be NULL). HIST_NONE: false. */
bool hist_vip_dnsdist(const struct hist *h, uint32_t vip, double *poll_s);

/* Whether a dnsdist VIP (its `vip` line's checks) health-checks backend (interned;
 * one of its: named by its health or backend_stats lines), vip HIST_NONE: any such
 * VIP. dnsdist's checks are not read back as probe lines. */
bool hist_dnsdist_checks(const struct hist *h, uint32_t vip, uint32_t backend);

/* A completed lookup's answers, in the line's order (borrowed; NULL when it has none). */
const struct hist_addr *hist_lookup_addrs(const struct hist *h, const struct hist_lookup *l,
					  size_t *n);

/*
 * Whether resolver (an interned name) serves, at run time t, a zone version
 * other than the one published for that zone at t, by content: its last
 * boot line at or before t against the last publish line of each of its
 * zones at or before t. 1: it does (a stale disk copy, whatever its serial);
 * 0: it serves the published versions, or nothing yet, or zones no source
 * publishes; -1: cannot tell (a boot or publish line without a digest: a
 * history of an older dnschaos). Whether the resolver was up is the state
 * lines' business, not this.
 */
int hist_serves_unpublished(const struct hist *h, uint32_t resolver, double t);

/* A route line's action that is what came back for a query routed earlier
 * (a relayed port unreachable: refused-icmp, refused-noicmp), no routing
 * decision of its own. */
bool hist_action_is_relay(const char *action);

/* The lookup with this id, or NULL. */
const struct hist_lookup *hist_lookup_by_id(const struct hist *h, uint64_t id);

/* Records whether lookup l (of h) could have got a stale answer (rederive.c). */
void hist_set_stale_possible(struct hist *h, const struct hist_lookup *l, bool yes);

/*
 * The lookups of the query lines a VIP's forwarded queries made at their
 * backends (lines that carry no lookup of their own): out[i] for query line
 * i (hist_queries order), 0 when none. A forwarded route and a backend's
 * query line match on the backend and the question, in order of arrival
 * (the VIP and a capacity queue keep it: a query is placed at its arrival,
 * t - queue_ms), each query taking the oldest route not yet taken and no
 * more than 1 s older. out has one entry per query line. Returns 0, or -1
 * when out of memory.
 */
int hist_hop_lookups(const struct hist *h, uint64_t *out);

/* Every line, raw (for the Lua escape hatch): count, type, text (no "\n"). */
size_t hist_line_count(const struct hist *h);
enum hist_type hist_line_type(const struct hist *h, size_t i);
const char *hist_line(const struct hist *h, size_t i, size_t *len);

const char *hist_type_name(enum hist_type t);

/* Every field of a line, for readers that want them all (the Lua escape hatch). */
enum hist_value { HIST_V_STRING, HIST_V_NUMBER, HIST_V_BOOL, HIST_V_NULL, HIST_V_ARRAY };
struct hist_field {
	const char *key;
	size_t klen;
	enum hist_value kind;
	const char *s; /* string: the text (NUL-terminated); array: the elements, each NUL-terminated */
	size_t slen;   /* string: its length; array: how many elements */
	double num;
	bool b;
};
typedef void (*hist_field_fn)(void *arg, const struct hist_field *f);

/* Calls fn for every field of line i, in order. Returns 0, or -1 (out of memory, no such line). */
int hist_line_fields(const struct hist *h, size_t i, hist_field_fn fn, void *arg);

/*
 * One line at a time, for a reader that gets lines as they are written (the
 * live view, record/live.h) rather than a file: the same JSON reader as
 * hist_load, reused from line to line (its buffers grow to the longest line
 * seen). hist_line_parse calls fn for every field of line (len bytes, with
 * or without its "\n"; the fields' texts are the parser's, valid until its
 * next parse), in order. Returns 0, or -1 with *why set (a static text: not JSON, too many
 * fields, out of memory). Only the JSON is checked, not docs/history.md's
 * rules across lines (t going backwards, keys twice, ...): hist_load's job.
 */
struct hist_line_parser;
struct hist_line_parser *hist_line_parser_new(void);
void hist_line_parser_free(struct hist_line_parser *p);
int hist_line_parse(struct hist_line_parser *p, const char *line, size_t len, hist_field_fn fn,
		    void *arg, const char **why);

#endif
