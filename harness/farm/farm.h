/*
 * farm.h - the farm's objects without Lua: the zone source (the published
 * truth) and the fake resolvers, with their lifecycle (start, stop, crash,
 * restart, boot from a file or from the source by AXFR) and their faults.
 * Every change is recorded in the history; the Lua bindings in harness/lua/
 * are a thin layer over these functions.
 */
#ifndef HARNESS_FARM_H
#define HARNESS_FARM_H

#include "fakeresolver/faults.h"
#include "fakeresolver/server.h"
#include "fakeresolver/zone.h"
#include "harness/lb/health.h"
#include "harness/lb/nft.h"
#include "harness/lb/vip.h"

struct run_env;
struct farm_source;
struct farm_resolver;
struct farm_vip;
struct farm_process;

#define FARM_NAME_MAX 64
#define FARM_BOOT_ZONES 16

/* How a resolver boots: zone versions from its own disk, or AXFR from a source. */
struct farm_boot {
	struct farm_source *source;                  /* non-NULL: by AXFR from it */
	struct zone_version *zones[FARM_BOOT_ZONES]; /* else: these versions (referenced) */
	size_t nzones;
};

/* Copies a boot plan, taking references on its zones. */
void farm_boot_copy(struct farm_boot *dst, const struct farm_boot *src);

/* Drops the references a boot plan holds. */
void farm_boot_clear(struct farm_boot *b);

/* ---- the zone source ---- */

/* A zone source named name at addr (port 0: chosen at start). zones: referenced. */
struct farm_source *farm_source_create(struct run_env *env, const char *name,
				       const struct addr *addr);
void farm_source_destroy(struct farm_source *s);

const char *farm_source_name(const struct farm_source *s);

/* Its address (the port is known once started). */
const struct addr *farm_source_addr(const struct farm_source *s);

/* The zone set it publishes (borrowed). */
const struct zone_set *farm_source_zones(const struct farm_source *s);

/*
 * Publishes a version (referenced): it becomes the served version of its zone.
 * Before the run starts this sets the initial truth; during the run it is
 * recorded as a publish event. Returns 0, or -1 with err set (same serial
 * already published with other content, out of memory).
 */
int farm_source_publish(struct farm_source *s, struct zone_version *v, char *err, size_t errlen);

/* The serial it publishes for the zone with this origin (wire), or -1. */
int64_t farm_source_serial(const struct farm_source *s, const uint8_t *origin, size_t len);

/*
 * The version with this serial it has published (now or earlier) for the zone
 * with this origin (lower-case wire), or NULL. Borrowed: the source holds it.
 */
struct zone_version *farm_source_version(const struct farm_source *s, const uint8_t *origin,
					size_t len, uint32_t serial);

/*
 * Picks its port now (free for TCP and UDP) if its address has none, so that
 * a daemon can be told it before the run starts (a secondary's {source}).
 * Returns 0 or -1 with err set.
 */
int farm_source_pin_port(struct farm_source *s, char *err, size_t errlen);

/* Calls fn(arg) after every publish during the run (resolvers that gate themselves). */
int farm_source_watch(struct farm_source *s, void (*fn)(void *arg), void *arg);

/*
 * Binds and serves SOA and AXFR (already serving: nothing more). The versions
 * published before the run are recorded the first time it is called while
 * the run runs, so it may be started before (a secondary's launch).
 * Returns 0 or -1 with err set.
 */
int farm_source_start(struct farm_source *s, char *err, size_t errlen);
/* Closes its ports (a transfer from it then fails); recorded once running. */
void farm_source_stop(struct farm_source *s);
bool farm_source_running(const struct farm_source *s);

/* ---- fake resolvers ---- */

enum farm_state {
	FARM_DOWN,    /* not started, stopped or crashed: ports closed */
	FARM_BOOTING, /* ports open, serving nothing until the transfer completes */
	FARM_UP,      /* serving */
};

struct farm_resolver *farm_resolver_create(struct run_env *env, const char *name,
					   const struct addr *addr, const struct farm_boot *boot);
void farm_resolver_destroy(struct farm_resolver *r);

const char *farm_resolver_name(const struct farm_resolver *r);
const struct addr *farm_resolver_addr(const struct farm_resolver *r);
enum farm_state farm_resolver_state(const struct farm_resolver *r);
const char *farm_state_name(enum farm_state s);

/* The serial it serves for the zone enclosing name (wire), or -1 if none. */
int64_t farm_resolver_serial(const struct farm_resolver *r, const uint8_t *name, size_t len);

/* Its first zone's served serial, or -1 when it serves nothing. */
int64_t farm_resolver_first_serial(const struct farm_resolver *r);

/*
 * Opens the ports and boots with boot (NULL: the configured plan). Returns 0,
 * or -1 with err set (cannot bind). A failed transfer is not an error here: it
 * is recorded, and the resolver serves nothing.
 */
int farm_resolver_start(struct farm_resolver *r, const struct farm_boot *boot, char *err,
			size_t errlen);

/* Closes the ports (the kernel answers port unreachable). why: "stop", "crash". */
void farm_resolver_stop(struct farm_resolver *r, const char *why);

/*
 * Crashes now and boots again after down_s seconds with boot (NULL: the
 * configured plan). restart is crash with down_s 0.
 */
int farm_resolver_crash(struct farm_resolver *r, double down_s, const struct farm_boot *boot,
			char *err, size_t errlen);

/* Replaces what it serves without closing its ports (a zone reload). */
int farm_resolver_reload(struct farm_resolver *r, const struct farm_boot *boot, char *err,
			 size_t errlen);

/*
 * Injects a fault; heals it by itself after duration_s if > 0. Returns the
 * fault's id (unique in the run, never 0) or 0 on out of memory. On success
 * the resolver owns spec->wrong_zones.
 */
uint32_t farm_resolver_inject(struct farm_resolver *r, const struct fault_spec *spec,
			      double duration_s);

/* Limits service to qps with a queue; returns the fault id (heal removes it). */
uint32_t farm_resolver_capacity(struct farm_resolver *r, double qps, unsigned queue,
				double duration_s);

/*
 * Writes a `fault` line (docs/history.md) for target: action "inject" (with
 * spec's match and parameters when spec is not NULL, qps and queue when qps
 * > 0, duration when > 0) or "heal". The one writer of fault lines for
 * fake resolvers, local (farm/resolver.c) or remote (farm/remote.c).
 */
void farm_fault_record(struct run_env *env, const char *target, uint32_t id, const char *kind,
		       const char *action, const struct fault_spec *spec, double qps, unsigned queue,
		       double duration_s);

/*
 * Writes the join of a query line: the client, and the lookup with its
 * cause or "join": "ambiguous". The one writer for every farm member whose
 * queries are in the history (resolver.c, process.c, remote.c).
 */
struct history;
struct client_join;
void farm_write_join(struct history *h, const struct client_join *j);

/* Heals one fault (id) or all (id 0). Returns how many were healed. */
int farm_resolver_heal(struct farm_resolver *r, uint32_t id);

/* True if the fault id is active on this resolver. */
bool farm_resolver_has_fault(const struct farm_resolver *r, uint32_t id);
/*
 * The i-th active fault: the query faults in injection order, then the
 * stop or crash that keeps it down: its id, kind ("delay", "capacity",
 * "crash", ...; static) and seconds until it heals itself (a crash: until
 * its reboot; -1: until healed). False past the last. For a status read
 * (the control socket).
 */
bool farm_resolver_fault_at(const struct farm_resolver *r, size_t i, uint32_t *id,
			    const char **kind, double *left);

/* Query counters since the run started. */
void farm_resolver_stats(const struct farm_resolver *r, struct server_stats *out);

/*
 * A UDP query from a VIP in this process, served as if it had come over
 * loopback from `from` (see server_deliver). Returns -1 when the resolver is
 * down (its port would be closed), 0 otherwise.
 */
int farm_resolver_deliver(struct farm_resolver *r, const uint8_t *pkt, size_t len,
			  const struct addr *from, server_reply_fn fn, void *arg);

/* Drops replies still owed to arg (see server_forget). */
void farm_resolver_forget(struct farm_resolver *r, void *arg);

/*
 * Self-gating: while its serial is behind what source publishes, the
 * resolver answers health probes (SOA queries at its zone's apex, or every
 * query with clients) with SERVFAIL, REFUSED or silence; with reload it also
 * fetches the published zone and rejoins once current. Checked at every boot,
 * reload and publish; each change recorded as a "gate" event.
 */
enum farm_gate_answer { FARM_GATE_SERVFAIL, FARM_GATE_REFUSED, FARM_GATE_SILENCE };
struct farm_gate {
	struct farm_source *source;
	enum farm_gate_answer answer;
	bool clients; /* refuse client queries too, not only probes */
	bool reload;  /* fetch the published zone and rejoin */
};
int farm_resolver_set_gate(struct farm_resolver *r, const struct farm_gate *g);

/* True while it gates itself. */
bool farm_resolver_gated(const struct farm_resolver *r);

/* ---- the VIP ---- */

struct farm_vip_backend {
	struct farm_resolver *resolver; /* or NULL: a plain address */
	struct farm_process *process;   /* or a managed daemon (farm/process.c) */
	struct addr addr;               /* when resolver is NULL */
	char name[FARM_NAME_MAX];
	unsigned weight;
	char server[FARM_NAME_MAX];     /* kind "dnsdist" with a user's file: its newServer name */
};

struct farm_vip_health {
	bool enabled;
	struct health_config cfg;
	struct farm_source *source; /* the published truth for serial and exec checks */
	char zone[256];             /* the zone probed (default: the source's first zone) */
	char qname[256];
	char command[1024];
};

/* cfg: policy and options (its address and backends are filled at start).
 * in_process: resolvers behind it get their UDP queries handed over in the
 * process (struct vip_local), not across loopback. */
struct farm_vip *farm_vip_create(struct run_env *env, const char *name, const struct addr *addr,
				 const struct vip_config *cfg, const struct farm_vip_backend *b,
				 size_t n, const struct farm_vip_health *health, bool in_process);
void farm_vip_destroy(struct farm_vip *v);

/* kind = "nftables": the kernel DNATs the VIP onto the backends (harness/farm/vip_nft.h). */
struct farm_vip_nftables {
	enum nft_policy policy;
	unsigned flow_idle_s; /* conntrack's UDP timeouts, whole seconds */
};

/* Makes v a kernel VIP (before it starts); its vip_config's on_down says
 * whether a downed backend's flows are flushed. k is copied. */
void farm_vip_set_nftables(struct farm_vip *v, const struct farm_vip_nftables *k);

/* A kernel VIP's address when dst is one of its backends' (where the kernel
 * DNATs its queries to), else NULL: the run joins a backend's queries to
 * lookups sent to the VIP through it. */
const struct addr *farm_vip_alias(const struct farm_vip *v, const struct addr *dst);

/* Whether src (address and port) is one of a userspace VIP's own sockets
 * towards a backend on another host: its forward of a client's query, which
 * the run joins on the VIP's route line, not where the backend sees it. */
bool farm_vip_sends_from(const struct farm_vip *v, const struct addr *src);

/* Where the scenario declared it ("file.lua:12"), for messages; copied. */
void farm_vip_set_where(struct farm_vip *v, const char *where);

/* Binds (after the resolvers, whose ports it needs), writes its `vip` line
 * and starts health checks. A port unreachable it cannot relay (on_refused
 * icmp without a raw socket) is said in that line and on stderr, not an error. */
int farm_vip_start(struct farm_vip *v, char *err, size_t errlen);
void farm_vip_stop(struct farm_vip *v);

const char *farm_vip_name(const struct farm_vip *v);
const struct addr *farm_vip_addr(const struct farm_vip *v);

/* The backend index of a resolver or a name, or -1. */
int farm_vip_backend(const struct farm_vip *v, const void *resolver, const char *name);
const char *farm_vip_backend_name(const struct farm_vip *v, int i);
/* How many backends the VIP has (indices 0 to count - 1). */
int farm_vip_backend_count(const struct farm_vip *v);

/* Whether the VIP routes new traffic to backend i. */
bool farm_vip_backend_up(const struct farm_vip *v, int i);

/*
 * kind "dnsdist" (harness/farm/vip_dnsdist.h): farm_vip_start starts dnsdist
 * with c (copied; backend addresses and the run's own settings filled at
 * start) instead of the userspace VIP. Returns 0 or -ENOMEM.
 */
struct dnsdist_conf;
int farm_vip_set_dnsdist(struct farm_vip *v, const struct dnsdist_conf *c);
bool farm_vip_is_dnsdist(const struct farm_vip *v);

/* An operator's hand: take a backend out of (or put it back into) the VIP. */
void farm_vip_set_member(struct farm_vip *v, int i, bool up, const char *why);

/*
 * Where a backend listens, whatever it is (a fake resolver, a real daemon,
 * a plain address): every VIP kind reads it here. Known once the farm has
 * started (a resolver's port is bound then).
 */
const struct addr *farm_vip_backend_addr(const struct farm_vip_backend *b);

/* ---- managed DNS daemons (farm/process.c) ---- */

/*
 * A real DNS daemon as a farm member: a command (unbound, nsd, a user's
 * build) started in its own process group under spawn.c's guardian, on its
 * own loopback address, serving a zone file copied into a private working
 * directory, or a secondary that transfers its zone from a zone source
 * (source: no file put in place unless zone_file is given too; ready once it
 * answers NOERROR with its SOA, and what it boots is the serial it answers).
 * Its queries reach the history through a packet capture on loopback (needs
 * CAP_NET_RAW). Placeholders in the command's arguments and in the config
 * template: {addr} {port} {dir} {zone_file} {config} {origin} {name}, with a
 * source {source} (ADDR@PORT) {source_addr} {source_port}, and {{ for a {.
 */
struct farm_process_config {
	char name[FARM_NAME_MAX];
	struct addr addr;                  /* port 0: a free one is picked when created */
	const char *const *argv;           /* the command, placeholders unexpanded (copied) */
	size_t argc;
	struct zone_version *zone;         /* its zone file (referenced; copied), or NULL with source */
	struct farm_source *source;        /* a secondary of it ({source}), or NULL (borrowed) */
	const char *config_path;           /* a config template file, or NULL (read when created) */
	const char *config_text;           /* or a config template text, or NULL (copied) */
	double start_timeout_s;            /* how long it may take to answer an SOA query */
	char where[256];                   /* "file.lua:12", for messages */
	bool describe_only;                /* never started (dnschaos check): no capture, no directory */
};

/*
 * Creates it: checks the command's placeholders, makes the private directory
 * (/tmp/dnschaos-NAME-XXXXXX, removed by destroy), picks a port and opens
 * the capture socket (AF_PACKET on lo). Returns NULL with err set: no
 * CAP_NET_RAW, an unknown placeholder, an unreadable template, out of memory.
 */
struct farm_process *farm_process_create(struct run_env *env, const struct farm_process_config *c,
					 char *err, size_t errlen);
/* Kills what still runs, removes its directory. NULL is a no-op. */
void farm_process_destroy(struct farm_process *p);

const char *farm_process_name(const struct farm_process *p);
const struct addr *farm_process_addr(const struct farm_process *p);
enum farm_state farm_process_state(const struct farm_process *p);
/* The serial it last booted (a secondary's: the one it answered), or -1 when down. */
int64_t farm_process_serial(const struct farm_process *p);
/* True while it is stopped by a hang (SIGSTOP). */
bool farm_process_hung(const struct farm_process *p);
/*
 * The i-th fault in force on it: its hang, then the kill, stop or restart
 * that keeps it down; its id, kind ("hang", "kill", ...; static) and
 * seconds until it heals itself (a hang's duration), or -1 until healed.
 * False past the last. For a status read, as farm_resolver_fault_at.
 */
bool farm_process_fault_at(const struct farm_process *p, size_t i, uint32_t *id, const char **kind,
                           double *left);
/* Seconds until its hang continues by itself (its duration); -1: not hung, or no duration. */
double farm_process_hang_left(const struct farm_process *p);

/*
 * Starts the daemon with its configured zone (a secondary: its source first,
 * if not serving yet) and blocks until it answers, recording nothing: called
 * by the run before its clock starts, so that a daemon's start-up time is not
 * taken from the scenario's (a secondary's source serves from the loop, which
 * runs meanwhile). farm_process_start then records it as started. Returns 0
 * or -1 with err set (its output).
 */
int farm_process_launch(struct farm_process *p, char *err, size_t errlen);

/*
 * Starts the daemon with zone (NULL: the configured one, if any; referenced)
 * copied over its zone file (a secondary without one: any file there is
 * removed, so that it transfers). wait: block until it answers (the run's start-up);
 * else it boots while the loop runs (a restart during the run). Returns 0
 * or -1 with err set (the daemon's own output included).
 */
int farm_process_start(struct farm_process *p, struct zone_version *zone, bool wait, char *err,
		       size_t errlen);
/* SIGKILL to its process group, reaped; why: "kill", "stop", "end". Records a fault for kill/stop. */
void farm_process_stop(struct farm_process *p, const char *why);
/* kill then start (zone: an old file for the stale-file reboot, or NULL). */
int farm_process_restart(struct farm_process *p, struct zone_version *zone, char *err,
			 size_t errlen);
/*
 * SIGSTOP to everything of its group but the guardian; returns the fault id
 * (0: not running). duration_s > 0: continued by itself after it (a timer on
 * the run's loop; its heal written as a fake resolver fault's self-heal).
 * Hung already: that hang's id, its duration unchanged.
 */
uint32_t farm_process_hang(struct farm_process *p, double duration_s);
/* SIGCONT; heals the hang (and disarms its duration). Returns 1 if it was hung, 0 otherwise. */
int farm_process_continue(struct farm_process *p);

#endif
