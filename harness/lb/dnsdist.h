/*
 * dnsdist.h - the plain parts of a VIP served by a real dnsdist (s:vip{
 * kind = "dnsdist" }): the configuration the run hands it, and its
 * webserver API's answer read back. No I/O here (harness/farm/vip_dnsdist.c
 * runs the process and polls); tested without dnsdist.
 *
 * The configuration is always a file written by the run. Generated (no user
 * file): setLocal on the VIP's address, one newServer per backend named after
 * the farm member, health checks and the policy from the scenario. With the
 * user's file: a wrapper that replaces newServer (each server must have a
 * name = the scenario maps to a farm member; its address becomes that
 * member's), makes setLocal, addLocal, addDOHLocal, addTLSLocal,
 * addDNSCryptBind, webserver, setWebserverConfig, controlSocket, carbonServer
 * and setSecurityPollSuffix do nothing while their file runs and
 * newRemoteLogger and newFrameStreamTcpLogger raise (they send outside),
 * loads it with dofile, refuses it when a mapped name has no newServer, then
 * adds ours. Both ways end with setSecurityPollSuffix("")
 * (dnsdist never asks anything outside), our listen address, and the
 * webserver on a loopback port with an API key, for the read-back.
 */
#ifndef HARNESS_LB_DNSDIST_H
#define HARNESS_LB_DNSDIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSDIST_BACKENDS_MAX 16
#define DNSDIST_NAME_MAX 64

struct dnsdist_backend_conf {
	char member[DNSDIST_NAME_MAX]; /* the farm member's (backend's) name */
	char server[DNSDIST_NAME_MAX]; /* the newServer name= in the user's file; generated: member */
	char address[80];              /* "127.0.0.12:40001" or "[::1]:40001" */
	unsigned weight;
};

struct dnsdist_conf {
	const char *listen;     /* the VIP's address with its port */
	const char *webserver;  /* "127.0.0.1:PORT" */
	const char *api_key;    /* letters and digits */
	char user_file[1024];   /* the user's configuration (absolute path), or "": generated */
	const char *where;      /* the s:vip line, for the file's header comment */
	const char *policy;     /* a dnsdist policy ("roundrobin", ...), or NULL: theirs/default */
	unsigned udp_timeout_s; /* setUDPTimeout; 0: dnsdist's default (2) */
	bool health;            /* generated: check; false: every server forced up */
	unsigned check_interval_s, check_timeout_ms, rise, fall;
	bool must_resolve;      /* rcode check: NXDOMAIN, SERVFAIL, REFUSED fail */
	char check_name[256];   /* "internal." */
	char check_type[16];    /* "SOA" */
	struct dnsdist_backend_conf b[DNSDIST_BACKENDS_MAX];
	size_t n;
};

/*
 * The configuration text for c into *out (malloc'd, NUL-terminated; the
 * caller frees). Every string is written as a Lua string literal (quotes,
 * backslashes and control characters escaped). Returns 0 or -ENOMEM, -EINVAL
 * (no backend, too many, or a missing field).
 */
int dnsdist_conf_text(const struct dnsdist_conf *c, char **out);

/* One server of /api/v1/servers/localhost. */
struct dnsdist_server {
	char name[DNSDIST_NAME_MAX];
	bool up;          /* state "up" or "UP" */
	bool forced;      /* state "UP" or "DOWN": set by hand, not by health checks */
	uint64_t queries, responses, reuseds, send_errors, outstanding;
	double latency_ms; /* dnsdist's moving average ("latency", ms) */
};

/*
 * Parses the API's JSON answer (body, len bytes, not NUL-terminated): the
 * objects of its "servers" array, at most max of them into out, their count
 * in *n. Unknown keys are skipped. Returns 0, or -EINVAL when the text is not
 * JSON of that shape (no "servers" array, a server without a name or state).
 */
int dnsdist_servers_parse(const char *body, size_t len, struct dnsdist_server *out, size_t max,
			  size_t *n);

/*
 * The first line of dnsdist's --check-config output that says what is wrong
 * (a "Fatal" or "error" line, else the last non-empty line), copied into out
 * (cap bytes) without its newline.
 */
void dnsdist_config_error(const char *output, char *out, size_t cap);

#endif
