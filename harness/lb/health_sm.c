/*
 * health_sm.c - the health checker's decisions: the rise/fall state machine,
 * the verdicts on a DNS probe and on a command, the probe grid. No I/O.
 */
#include "harness/lb/health_sm.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <ldns/ldns.h>

#include "fakeresolver/answer.h"
#include "fakeresolver/probe.h"

/* ---- the state machine ---- */

struct health_sm {
	unsigned rise, fall;
	bool up;
	unsigned successes; /* consecutive, since the last failure */
	unsigned failures;  /* consecutive, since the last success */
};

struct health_sm *health_sm_create(unsigned rise, unsigned fall, bool up)
{
	return health_sm_create_at(rise, fall, up, 0, 0);
}

struct health_sm *health_sm_create_at(unsigned rise, unsigned fall, bool up, unsigned successes,
				      unsigned failures)
{
	struct health_sm *sm = NULL;
	rise = rise ? rise : 1;
	fall = fall ? fall : 1;
	if ((successes && failures) || (!up && successes >= rise) || (up && failures >= fall))
		goto out;
	sm = malloc(sizeof *sm);
	if (!sm)
		goto out;
	sm->rise = rise;
	sm->fall = fall;
	sm->up = up;
	sm->successes = successes;
	sm->failures = failures;
out:
	return sm;
}

void health_sm_destroy(struct health_sm *sm)
{
	free(sm);
}

bool health_sm_feed(struct health_sm *sm, bool success)
{
	if (success) {
		sm->failures = 0;
		if (sm->successes < UINT_MAX)
			sm->successes++;
		if (!sm->up && sm->successes >= sm->rise) {
			sm->up = true;
			return true;
		}
	} else {
		sm->successes = 0;
		if (sm->failures < UINT_MAX)
			sm->failures++;
		if (sm->up && sm->failures >= sm->fall) {
			sm->up = false;
			return true;
		}
	}
	return false;
}

bool health_sm_up(const struct health_sm *sm)
{
	return sm->up;
}

unsigned health_sm_successes(const struct health_sm *sm)
{
	return sm->successes;
}

unsigned health_sm_failures(const struct health_sm *sm)
{
	return sm->failures;
}

unsigned health_sm_run(const struct health_sm *sm)
{
	return sm->up ? sm->successes : sm->failures;
}

bool health_serial_ge(uint32_t s1, uint32_t s2)
{
	const uint32_t half = UINT32_C(1) << 31;
	return s1 == s2 || (s1 < s2 && s2 - s1 > half) || (s1 > s2 && s1 - s2 < half);
}

int health_kind_parse(const char *s, enum health_kind *out)
{
	static const enum health_kind kinds[] = { HEALTH_ALIVE, HEALTH_RCODE, HEALTH_SERIAL,
						  HEALTH_EXEC };
	for (size_t i = 0; s && i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(s, health_kind_name(kinds[i])) == 0) {
			*out = kinds[i];
			return 0;
		}
	}
	return -1;
}

const char *health_kind_name(enum health_kind k)
{
	switch (k) {
	case HEALTH_ALIVE:
		return "alive";
	case HEALTH_RCODE:
		return "rcode";
	case HEALTH_SERIAL:
		return "serial";
	case HEALTH_EXEC:
		return "exec";
	}
	return "?";
}

/* ---- the verdict on one probe ---- */

/* The serial of the origin's SOA in the answer section; false if none. */
static bool answer_soa_serial(const ldns_pkt *pkt, const ldns_rdf *origin, uint32_t *serial)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || ldns_rr_rd_count(rr) < 3 ||
		    ldns_dname_compare(ldns_rr_owner(rr), origin) != 0)
			continue;
		const ldns_rdf *rd = ldns_rr_rdf(rr, 2);
		if (!rd || ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_INT32 || ldns_rdf_size(rd) != 4)
			continue;
		*serial = ldns_rdf2native_int32(rd);
		return true;
	}
	return false;
}

bool health_judge_dns(enum health_kind kind, const struct probe_result *res, const char *origin,
		      int64_t published, double timeout_s, int64_t *serial, char *reason,
		      size_t len)
{
	char rb[16];
	ldns_rdf *orig = NULL;
	uint32_t got;
	bool ok = false;

	*serial = -1;
	switch (res->status) {
	case PROBE_TIMEOUT:
		snprintf(reason, len, "timeout after %g s", timeout_s);
		goto out;
	case PROBE_REFUSED:
	case PROBE_ERROR:
		snprintf(reason, len, "%s",
			 res->error[0] ? res->error
				       : (res->status == PROBE_REFUSED ? "refused" : "error"));
		goto out;
	case PROBE_ANSWER:
		break;
	}
	const char *rcode = answer_rcode_str(res->rcode, rb, sizeof rb);
	switch (kind) {
	case HEALTH_ALIVE:
		snprintf(reason, len, "answered %s", rcode);
		ok = true;
		goto out;
	case HEALTH_RCODE:
		snprintf(reason, len, "rcode %s", rcode);
		ok = res->rcode == LDNS_RCODE_NOERROR;
		goto out;
	case HEALTH_SERIAL:
		break;
	case HEALTH_EXEC:
	default:
		snprintf(reason, len, "not a DNS check: %s", health_kind_name(kind));
		goto out;
	}
	if (res->rcode != LDNS_RCODE_NOERROR) {
		snprintf(reason, len, "rcode %s", rcode);
		goto out;
	}
	if (ldns_str2rdf_dname(&orig, origin) != LDNS_STATUS_OK) {
		snprintf(reason, len, "'%s' is not a domain name", origin);
		goto out;
	}
	if (!res->pkt || !answer_soa_serial(res->pkt, orig, &got)) {
		snprintf(reason, len, "no SOA for %s in the answer%s", origin,
			 res->pkt && ldns_pkt_tc(res->pkt) ? " (truncated reply)" : "");
		goto out;
	}
	*serial = got;
	if (published < 0) {
		snprintf(reason, len, "serial %" PRIu32 ", no published serial", got);
		ok = true;
	} else {
		ok = health_serial_ge(got, (uint32_t)published);
		snprintf(reason, len, "serial %" PRIu32 " %s published %" PRIu32, got,
			 ok ? ">=" : "<", (uint32_t)published);
	}
out:
	ldns_rdf_deep_free(orig);
	return ok;
}

bool health_judge_exec(int status, bool killed, double timeout_s, int *exit_status, char *reason,
		       size_t len)
{
	bool ok = false;
	*exit_status = -1;
	if (killed) {
		snprintf(reason, len, "killed after %g s timeout", timeout_s);
	} else if (WIFEXITED(status)) {
		*exit_status = WEXITSTATUS(status);
		ok = *exit_status == 0;
		snprintf(reason, len, "exit %d", *exit_status);
	} else if (WIFSIGNALED(status)) {
		snprintf(reason, len, "killed by signal %d", WTERMSIG(status));
	} else {
		snprintf(reason, len, "wait status %#x", (unsigned)status);
	}
	return ok;
}

/* ---- the grid ---- */

double health_grid_next(double due, double now, double interval_s)
{
	double next = due + interval_s;
	if (next <= now) {
		double missed = (double)(long long)((now - next) / interval_s);
		next += (missed + 1) * interval_s;
	}
	return next;
}
