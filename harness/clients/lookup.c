/*
 * lookup.c - the outcome of one lookup, shared by every driver: addresses
 * collected without duplicates, failures in the stack's own words mapped to
 * the shared reasons; and a client's configuration defaults. No state, no
 * I/O: drivers and their tests link it alone.
 */
#include "harness/clients/client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void lookup_fail(struct lookup *lk, enum lookup_result result, enum lookup_reason reason,
		 const char *error)
{
	lk->result = result;
	lk->reason = reason;
	snprintf(lk->error, sizeof lk->error, "%s", error ? error : "");
}

bool lookup_add_addr(struct lookup *lk, int family, const void *addr)
{
	size_t len = family == AF_INET6 ? 16 : 4;
	if (family != AF_INET && family != AF_INET6)
		return false;
	for (size_t i = 0; i < lk->naddrs; i++)
		if (lk->addrs[i].family == family && memcmp(lk->addrs[i].a, addr, len) == 0)
			return true;
	if (lk->naddrs == LOOKUP_ADDRS_MAX)
		return false;
	struct lookup_addr *a = &lk->addrs[lk->naddrs++];
	memset(a, 0, sizeof *a);
	a->family = family;
	memcpy(a->a, addr, len);
	lk->result = LOOKUP_OK;
	lk->reason = REASON_NONE;
	lk->error[0] = '\0';
	return true;
}

bool lookup_add_addr_text(struct lookup *lk, const char *text)
{
	uint8_t buf[16];
	if (inet_pton(AF_INET, text, buf) == 1)
		return lookup_add_addr(lk, AF_INET, buf);
	if (inet_pton(AF_INET6, text, buf) == 1)
		return lookup_add_addr(lk, AF_INET6, buf);
	return false;
}

enum lookup_reason lookup_reason_for_rcode(int rcode)
{
	switch (rcode) {
	case 0:
		return REASON_NODATA;
	case 2:
		return REASON_SERVFAIL;
	case 3:
		return REASON_NXDOMAIN;
	case 5:
		return REASON_REFUSED;
	case 1:
	case 4:
		return REASON_BADREPLY;
	default:
		return REASON_ERROR;
	}
}

const char *lookup_result_name(enum lookup_result r)
{
	switch (r) {
	case LOOKUP_OK:
		return "ok";
	case LOOKUP_FAIL:
		return "fail";
	case LOOKUP_TIMEOUT:
		return "timeout";
	case LOOKUP_CANCELLED:
		return "cancelled";
	}
	return "?";
}

static const char *const reason_names[REASON_COUNT] = {
	"none",    "nxdomain",  "nodata",   "servfail", "refused",
	"timeout", "unreachable", "badreply", "overload", "error",
};

const char *lookup_reason_name(enum lookup_reason r)
{
	return (unsigned)r < REASON_COUNT ? reason_names[r] : "?";
}

void client_config_defaults(struct client_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->family = CLIENT_FAMILY_A;
	cfg->qtype = 1 /* A */;
	cfg->ndots = -1;
	cfg->poisson = true;
	cfg->concurrency = 1;
	cfg->max_pending = 10000;
	cfg->threads = 0;
	cfg->timeout_s = -1;
	cfg->attempts = -1;
	cfg->rotate = -1;
	cfg->edns0 = -1;
	cfg->single_request = -1;
	cfg->cache = -1;
	cfg->random_order = -1;
	cfg->resolv_timeout = -1;
}

void client_config_clear(struct client_config *cfg)
{
	for (size_t i = 0; i < cfg->nnames; i++)
		free(cfg->names[i]);
	for (size_t i = 0; i < cfg->nsearch; i++)
		free(cfg->search[i]);
	for (size_t i = 0; i < cfg->argc; i++)
		free(cfg->argv[i]);
	for (size_t i = 0; i < 2 * CLIENT_ENV_MAX; i++) { /* a name may come before its value */
		free(cfg->env[i]);
		cfg->env[i] = NULL;
	}
	cfg->nnames = cfg->nsearch = cfg->argc = cfg->nenv = 0;
}
