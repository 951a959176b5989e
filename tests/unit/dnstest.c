/*
 * dnstest.c - helpers shared by the unit tests.
 */
#include "tests/unit/dnstest.h"

#include "fakeresolver/addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

size_t dt_name(const char *str, uint8_t *out)
{
	size_t n = 0;
	const char *p = str;

	if (strcmp(str, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		assert_true(l > 0 && l <= WIRE_LABEL_MAX);
		assert_true(n + 1 + l + 1 <= WIRE_NAME_MAX);
		out[n] = (uint8_t)l;
		memcpy(out + n + 1, p, l);
		n += 1 + l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[n++] = 0;
	return n;
}

struct dt_opts dt_opts_default(void)
{
	struct dt_opts o = { .id = 0x1234, .flags = WIRE_FLAG_RD, .qclass = DNS_CLASS_IN };
	return o;
}

struct dt_opts dt_opts_edns(uint16_t udp_size)
{
	struct dt_opts o = dt_opts_default();
	o.edns = true;
	o.udp_size = udp_size;
	return o;
}

size_t dt_query(uint8_t *buf, size_t cap, const char *name, uint16_t type,
		const struct dt_opts *opts)
{
	struct dt_opts o = opts ? *opts : dt_opts_default();
	uint8_t qname[WIRE_NAME_MAX];
	size_t qlen = dt_name(name, qname);
	size_t len = WIRE_HEADER_LEN + qlen + 4 + (o.edns ? 11 : 0);

	assert_true(len <= cap);
	memset(buf, 0, WIRE_HEADER_LEN);
	wire_put16(buf, o.id);
	wire_put16(buf + 2, o.flags);
	wire_put16(buf + 4, 1);
	wire_put16(buf + 10, o.edns ? 1 : 0);
	memcpy(buf + WIRE_HEADER_LEN, qname, qlen);
	wire_put16(buf + WIRE_HEADER_LEN + qlen, type);
	wire_put16(buf + WIRE_HEADER_LEN + qlen + 2, o.qclass ? o.qclass : DNS_CLASS_IN);
	if (o.edns) {
		uint8_t *opt = buf + WIRE_HEADER_LEN + qlen + 4;
		opt[0] = 0; /* root owner */
		wire_put16(opt + 1, DNS_TYPE_OPT);
		wire_put16(opt + 3, o.udp_size);
		opt[5] = 0;
		opt[6] = o.version;
		opt[7] = o.dnssec_ok ? 0x80 : 0;
		opt[8] = 0;
		wire_put16(opt + 9, 0);
	}
	return len;
}

struct zone_version *dt_load(const char *file)
{
	char path[4096];
	char err[1024] = "";

	snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, file);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	if (!v)
		fail_msg("loading %s: %s", file, err);
	return v;
}

struct zone_set *dt_zones(const char *file, ...)
{
	struct zone_set *s = zone_set_create();
	va_list ap;

	assert_non_null(s);
	va_start(ap, file);
	for (const char *f = file; f; f = va_arg(ap, const char *)) {
		struct zone_version *v = dt_load(f);
		assert_int_equal(zone_set_add(s, v, true), 0);
		zone_version_unref(v);
	}
	va_end(ap);
	return s;
}

ldns_pkt *dt_parse(const uint8_t *buf, size_t len)
{
	ldns_pkt *pkt = NULL;
	ldns_status st = ldns_wire2pkt(&pkt, buf, len);
	if (st != LDNS_STATUS_OK)
		fail_msg("ldns cannot read the reply: %s", ldns_get_errorstr_by_id(st));
	return pkt;
}

ldns_pkt *dt_ask(const struct zone_set *zones, const char *name, uint16_t type,
		 const struct dt_opts *opts, enum answer_transport transport,
		 struct answer_info *info)
{
	static uint8_t out[WIRE_MSG_MAX];
	uint8_t query[512];
	struct answer_info local;
	size_t qlen = dt_query(query, sizeof query, name, type, opts);
	size_t cap = transport == ANSWER_UDP ? ANSWER_EDNS_PAYLOAD : WIRE_MSG_MAX;

	if (!info)
		info = &local;
	size_t n = answer_query(zones, query, qlen, transport, out, cap, info);
	assert_int_equal(info->action, ANSWER_REPLY);
	assert_true(n >= WIRE_HEADER_LEN && n <= cap);
	return dt_parse(out, n);
}

static ldns_rr_list *section(const ldns_pkt *pkt, ldns_pkt_section s)
{
	switch (s) {
	case LDNS_SECTION_ANSWER:
		return ldns_pkt_answer(pkt);
	case LDNS_SECTION_AUTHORITY:
		return ldns_pkt_authority(pkt);
	case LDNS_SECTION_ADDITIONAL:
		return ldns_pkt_additional(pkt);
	default:
		return ldns_pkt_question(pkt);
	}
}

size_t dt_count(const ldns_pkt *pkt, ldns_pkt_section s, uint16_t type)
{
	ldns_rr_list *l = section(pkt, s);
	size_t n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (type == 0 || ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type)
			n++;
	return n;
}

ldns_rr *dt_rr(const ldns_pkt *pkt, ldns_pkt_section s, size_t i)
{
	ldns_rr_list *l = section(pkt, s);
	if (i >= ldns_rr_list_rr_count(l))
		fail_msg("section %d has %zu records, not %zu", (int)s, ldns_rr_list_rr_count(l),
			 i + 1);
	return ldns_rr_list_rr(l, i);
}

ldns_rr *dt_find(const ldns_pkt *pkt, ldns_pkt_section s, const char *text)
{
	ldns_rr *want = NULL;
	ldns_rr *found = NULL;
	ldns_status st = ldns_rr_new_frm_str(&want, text, 0, NULL, NULL);

	if (st != LDNS_STATUS_OK)
		fail_msg("bad record text in the test: %s", text);
	ldns_rr_list *l = section(pkt, s);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l) && !found; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rr_set_ttl(want, ldns_rr_ttl(rr));
		if (ldns_rr_compare(want, rr) == 0)
			found = rr;
	}
	ldns_rr_free(want);
	return found;
}

bool dt_owner_is(const ldns_rr *rr, const char *name)
{
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	assert_non_null(want);
	bool eq = ldns_dname_compare(ldns_rr_owner(rr), want) == 0;
	ldns_rdf_deep_free(want);
	return eq;
}

void dt_closed_port(const char *ip, int type, struct addr *out)
{
	char err[128] = "";
	for (unsigned port = 1023; port >= 600; port--) {
		if (addr_parse(ip, (uint16_t)port, out, err, sizeof err) != 0)
			fail_msg("%s: %s", ip, err);
		int fd = socket(out->ss.ss_family, type, 0);
		if (fd < 0)
			fail_msg("socket: %s", strerror(errno));
		int rc = bind(fd, (struct sockaddr *)&out->ss, out->len);
		int e = errno;
		close(fd);
		if (rc == 0 || e == EACCES) /* free, or we may not bind low ports to check */
			return;
		if (e != EADDRINUSE)
			fail_msg("bind %s port %u: %s", ip, port, strerror(e));
	}
	fail_msg("no free port below 1024 on %s", ip);
}
