/*
 * faults.c - the fault plan and its per-query decision.
 */
#include "fakeresolver/faults.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fault {
	uint32_t id;
	struct fault_spec spec;
};

struct fault_plan {
	struct fault *faults;
	size_t n, cap;
	uint32_t next_id;
	double qps;
	unsigned queue_len;
};

void fault_match_all(struct fault_match *m)
{
	memset(m, 0, sizeof *m);
	m->fraction = 1.0;
	m->transport = -1;
}

int fault_match_name(struct fault_match *m, const char *pattern, char *err, size_t errlen)
{
	const char *p = pattern;
	size_t n = 0;

	m->has_name = false;
	m->below = false;
	if (strcmp(p, "*") == 0)
		return 0;
	if (strncmp(p, "*.", 2) == 0) {
		m->below = true;
		p += 2;
	}
	/* Presentation to lower-case wire, no escapes: names in scenarios are plain. */
	while (*p && strcmp(p, ".") != 0) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > WIRE_LABEL_MAX || n + l + 2 > WIRE_NAME_MAX || memchr(p, '*', l)) {
			snprintf(err, errlen,
				 "name pattern '%s': write a name (db.internal), *.suffix, or *",
				 pattern);
			return -1;
		}
		m->name[n++] = (uint8_t)l;
		memcpy(m->name + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	m->name[n++] = 0;
	wire_name_lower(m->name);
	m->name_len = n;
	m->has_name = true;
	return 0;
}

struct fault_plan *fault_plan_create(void)
{
	struct fault_plan *p = calloc(1, sizeof *p);
	if (p)
		p->next_id = 1;
	return p;
}

static void spec_free(struct fault_spec *s)
{
	zone_set_destroy(s->wrong_zones);
	s->wrong_zones = NULL;
}

void fault_plan_destroy(struct fault_plan *p)
{
	if (!p)
		return;
	fault_plan_clear(p);
	free(p->faults);
	free(p);
}

int fault_plan_add(struct fault_plan *p, const struct fault_spec *spec, uint32_t *id)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct fault *f = realloc(p->faults, cap * sizeof *f);
		if (!f)
			return -1;
		p->faults = f;
		p->cap = cap;
	}
	struct fault *f = &p->faults[p->n++];
	f->id = p->next_id++;
	f->spec = *spec;
	*id = f->id;
	return 0;
}

int fault_plan_remove(struct fault_plan *p, uint32_t id)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->faults[i].id != id)
			continue;
		spec_free(&p->faults[i].spec);
		memmove(&p->faults[i], &p->faults[i + 1], (p->n - i - 1) * sizeof p->faults[0]);
		p->n--;
		return 0;
	}
	return -1;
}

void fault_plan_clear(struct fault_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		spec_free(&p->faults[i].spec);
	p->n = 0;
	p->qps = 0;
	p->queue_len = 0;
}

size_t fault_plan_count(const struct fault_plan *p)
{
	return p->n;
}

const struct fault_spec *fault_plan_get(const struct fault_plan *p, uint32_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->faults[i].id == id)
			return &p->faults[i].spec;
	return NULL;
}

void fault_plan_set_capacity(struct fault_plan *p, double qps, unsigned queue_len)
{
	p->qps = qps > 0 ? qps : 0;
	p->queue_len = qps > 0 ? queue_len : 0;
}

bool fault_plan_capacity(const struct fault_plan *p, double *qps, unsigned *queue_len)
{
	if (p->qps <= 0)
		return false;
	*qps = p->qps;
	*queue_len = p->queue_len;
	return true;
}

static bool matches(const struct fault_match *m, const struct wire_query *q, bool parsed,
		    enum answer_transport transport)
{
	if (m->transport >= 0 && m->transport != (int)transport)
		return false;
	if (!parsed)
		return !m->has_name && m->qtype == 0;
	if (m->qtype && m->qtype != q->qtype)
		return false;
	if (!m->has_name)
		return true;
	if (m->below)
		return q->qname_len > m->name_len &&
		       wire_name_is_subdomain(q->qname, q->qname_len, m->name, m->name_len);
	return q->qname_len == m->name_len && memcmp(q->qname, m->name, m->name_len) == 0;
}

void fault_plan_decide(const struct fault_plan *p, const struct wire_query *q,
		       enum wire_verdict verdict, enum answer_transport transport, struct rng *rng,
		       struct fault_decision *d)
{
	bool parsed = verdict == WIRE_QUERY_OK;
	memset(d, 0, sizeof *d);
	d->action = FAULT_ACT_ANSWER;

	for (size_t i = 0; i < p->n; i++) {
		const struct fault *f = &p->faults[i];
		const struct fault_spec *s = &f->spec;
		if (d->fault_id && s->kind != FAULT_DELAY)
			continue; /* decided; later delays still add their latency */
		if (s->kind == FAULT_TRUNCATE && transport != ANSWER_UDP)
			continue;
		if (!matches(&s->match, q, parsed, transport))
			continue;
		if (s->match.fraction < 1.0 && rng_unit(rng) >= s->match.fraction)
			continue;
		if (s->kind == FAULT_DELAY) {
			d->delay_s += rng_draw(rng, s->dist, s->delay_s, s->spread_s);
			d->delay_id = f->id;
			continue;
		}
		d->fault_id = f->id;
		d->spec = s;
		switch (s->kind) {
		case FAULT_HANG:
			d->action = FAULT_ACT_DROP;
			break;
		case FAULT_RCODE:
			d->action = FAULT_ACT_RCODE;
			break;
		case FAULT_TRUNCATE:
			d->action = FAULT_ACT_TRUNCATE;
			break;
		default:
			d->action = FAULT_ACT_WRONG;
			break;
		}
	}	/* A dropped query is never answered: a delay that matched it too held nothing back. */
	if (d->action == FAULT_ACT_DROP) {
		d->delay_s = 0;
		d->delay_id = 0;
	}
}

const char *fault_kind_name(enum fault_kind k)
{
	static const char *const names[] = { "hang", "delay", "rcode", "truncate", "wrong" };
	return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *fault_action_name(enum fault_action a)
{
	static const char *const names[] = { "answered", "dropped", "rcode", "truncated",
					     "wrong" };
	return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}
