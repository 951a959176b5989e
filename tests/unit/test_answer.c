/*
 * test_answer.c - the answer engine: query octets plus zones in, reply octets
 * out, read back with ldns. Authoritative data, CNAME chains, negative answers,
 * wildcards (RFC 4592), referrals, EDNS, truncation and zone transfers.
 */
#include "tests/unit/dnstest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_RCODE_NOTAUTH 9
#define DNS_TYPE_HINFO 13
#define DNS_TYPE_SSHFP 44
#define DNS_TYPE_CAA 257

struct fixture {
	struct zone_set *main;    /* example. (example.zone) and sub.example. (sub.zone) */
	struct zone_set *wild;    /* example. as in RFC 4592 2.2.1 (wild.zone) */
	struct zone_set *big;     /* big.test., built record by record */
	ldns_rr_list *big_rrs;    /* every record of big.test., SOA first */
};

/* ---- the big.test. zone: large RRsets, a big referral, many names ---- */

static void add_rr(ldns_rr_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_rr(ldns_rr_list *l, const char *fmt, ...)
{
	char text[512];
	ldns_rr *rr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) != LDNS_STATUS_OK)
		fail_msg("bad record text: %s", text);
	ldns_rr_list_push_rr(l, rr);
}

static ldns_rr_list *big_records(void)
{
	ldns_rr_list *l = ldns_rr_list_new();

	add_rr(l, "big.test. 3600 IN SOA ns1.big.test. hostmaster.big.test. 99 7200 3600 "
		  "1209600 300");
	add_rr(l, "big.test. 3600 IN NS ns1.big.test.");
	add_rr(l, "ns1.big.test. 3600 IN A 192.0.2.1");
	/* 40 addresses: about 700 octets, more than 512, less than 1232. */
	for (int i = 1; i <= 40; i++)
		add_rr(l, "many.big.test. 300 IN A 198.51.100.%d", i);
	add_rr(l, "tomany.big.test. 300 IN CNAME many.big.test.");
	/* 100 addresses: about 1650 octets, more than 1232. */
	for (int i = 1; i <= 100; i++)
		add_rr(l, "huge.big.test. 300 IN A 203.0.113.%d", i);
	/* 20 MX whose addresses do not all fit in 512 octets with them. */
	for (int i = 1; i <= 20; i++) {
		add_rr(l, "mx.big.test. 300 IN MX %d mx%02d.big.test.", i, i);
		add_rr(l, "mx%02d.big.test. 300 IN A 192.0.2.%d", i, 100 + i);
	}
	/* A zone cut with 20 NS and their glue: the glue does not all fit in 512. */
	for (int i = 1; i <= 20; i++) {
		add_rr(l, "deleg.big.test. 300 IN NS ns%02d.deleg.big.test.", i);
		add_rr(l, "ns%02d.deleg.big.test. 300 IN A 192.0.2.%d", i, 150 + i);
	}
	/* 200 names with an address each. */
	for (int i = 0; i < 200; i++)
		add_rr(l, "h%d.big.test. 60 IN A 10.1.%d.%d", i, i / 256, i % 256);
	return l;
}

static struct zone_version *build(const ldns_rr_list *rrs)
{
	char err[256] = "";
	ldns_buffer *buf = ldns_buffer_new(1024);
	ldns_rr *soa = ldns_rr_list_rr(rrs, 0);
	struct zone_builder *b = zone_builder_create(ldns_rdf_data(ldns_rr_owner(soa)), "big");

	assert_non_null(buf);
	assert_non_null(b);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		ldns_buffer_clear(buf);
		assert_int_equal(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
		if (zone_builder_add(b, ldns_rdf_data(ldns_rr_owner(rr)), ldns_rr_get_type(rr),
				     ldns_rr_ttl(rr), ldns_buffer_begin(buf),
				     (uint16_t)ldns_buffer_position(buf), (unsigned)i + 1, err,
				     sizeof err) != 0)
			fail_msg("%s", err);
	}
	ldns_buffer_free(buf);
	struct zone_version *v = zone_builder_finish(b, err, sizeof err);
	if (!v)
		fail_msg("%s", err);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->main = dt_zones("example.zone", "sub.zone", NULL);
	f->wild = dt_zones("wild.zone", NULL);
	f->big_rrs = big_records();
	f->big = zone_set_create();
	struct zone_version *v = build(f->big_rrs);
	assert_int_equal(zone_set_add(f->big, v, true), 0);
	zone_version_unref(v);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	zone_set_destroy(f->main);
	zone_set_destroy(f->wild);
	zone_set_destroy(f->big);
	ldns_rr_list_deep_free(f->big_rrs);
	free(f);
	return 0;
}

/* ---- helpers ---- */

/* A UDP query without EDNS (so a 512-octet limit), reply parsed. */
static ldns_pkt *ask(const struct zone_set *z, const char *name, uint16_t type)
{
	return dt_ask(z, name, type, NULL, ANSWER_UDP, NULL);
}

/* Header checks: rcode, AA, TC and the number of records in each section (OPT excluded). */
static void expect(const ldns_pkt *p, unsigned rcode, bool aa, bool tc, size_t an, size_t ns,
		   size_t ar)
{
	assert_true(ldns_pkt_qr(p));
	assert_false(ldns_pkt_ra(p));
	assert_int_equal(ldns_pkt_get_rcode(p), rcode);
	assert_int_equal(ldns_pkt_aa(p), aa);
	assert_int_equal(ldns_pkt_tc(p), tc);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, 0), an);
	assert_int_equal(dt_count(p, LDNS_SECTION_AUTHORITY, 0), ns);
	assert_int_equal(dt_count(p, LDNS_SECTION_ADDITIONAL, 0), ar);
}

/* Asserts that a record is in a section. */
static void has(const ldns_pkt *p, ldns_pkt_section s, const char *rr)
{
	if (!dt_find(p, s, rr))
		fail_msg("section %d lacks %s", (int)s, rr);
}

/* The SOA of a negative answer: in authority, owned by origin, with ttl. */
static void expect_negative_soa(const ldns_pkt *p, const char *origin, uint32_t ttl)
{
	ldns_rr *soa = dt_rr(p, LDNS_SECTION_AUTHORITY, 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_true(dt_owner_is(soa, origin));
	assert_int_equal(ldns_rr_ttl(soa), ttl);
}

/* ---- bad queries first ---- */

static void test_drop(void **state)
{
	struct fixture *f = *state;
	uint8_t q[512], out[1232];
	struct answer_info info;

	/* Shorter than a header. */
	memset(out, 0xee, sizeof out);
	size_t n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, NULL);
	assert_int_equal(answer_query(f->main, q, 0, ANSWER_UDP, out, sizeof out, &info), 0);
	assert_int_equal(info.action, ANSWER_DROP);
	assert_int_equal(answer_query(f->main, q, 11, ANSWER_UDP, out, sizeof out, &info), 0);
	assert_int_equal(info.action, ANSWER_DROP);
	assert_int_equal(info.verdict, WIRE_QUERY_DROP);

	/* A response (QR=1), over either transport. */
	struct dt_opts o = dt_opts_default();
	o.flags |= WIRE_FLAG_QR;
	n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, &o);
	assert_int_equal(answer_query(f->main, q, n, ANSWER_UDP, out, sizeof out, &info), 0);
	assert_int_equal(info.action, ANSWER_DROP);
	assert_int_equal(answer_query(f->main, q, n, ANSWER_TCP, out, sizeof out, &info), 0);
	assert_int_equal(info.action, ANSWER_DROP);
	assert_int_equal(out[0], 0xee); /* nothing written */
}

static void test_formerr(void **state)
{
	struct fixture *f = *state;
	uint8_t q[512], out[1232];
	struct answer_info info;

	/* No question at all: FORMERR, nothing to echo. */
	size_t n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, NULL);
	wire_put16(q + 4, 0);
	size_t len = answer_query(f->main, q, WIRE_HEADER_LEN, ANSWER_UDP, out, sizeof out, &info);
	assert_int_equal(info.action, ANSWER_REPLY);
	assert_int_equal(info.verdict, WIRE_QUERY_FORMERR);
	assert_int_equal(len, WIRE_HEADER_LEN);
	assert_int_equal(wire_get16(out), 0x1234);
	assert_int_equal(wire_get16(out + 2) & 0xf, DNS_RCODE_FORMERR);
	assert_true(wire_get16(out + 2) & WIRE_FLAG_QR);
	assert_int_equal(wire_get16(out + 4), 0);

	/* Trailing octets after a query with EDNS: question echoed, no OPT. */
	struct dt_opts o = dt_opts_edns(4096);
	n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, &o);
	q[n] = 0;
	len = answer_query(f->main, q, n + 1, ANSWER_UDP, out, sizeof out, &info);
	ldns_pkt *p = dt_parse(out, len);
	expect(p, DNS_RCODE_FORMERR, false, false, 0, 0, 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(wire_get16(out + 10), 0);
	ldns_pkt_free(p);

	/* A question for the OPT pseudo-type. */
	p = ask(f->main, "www.example.", DNS_TYPE_OPT);
	expect(p, DNS_RCODE_FORMERR, false, false, 0, 0, 0);
	ldns_pkt_free(p);
}

static void test_notimp(void **state)
{
	struct fixture *f = *state;
	struct answer_info info;

	/* STATUS (2) and NOTIFY (4): NOTIMP, the opcode echoed. */
	for (unsigned op = 2; op <= 4; op += 2) {
		struct dt_opts o = dt_opts_default();
		o.flags = (uint16_t)(op << 11);
		ldns_pkt *p = dt_ask(f->main, "example.", DNS_TYPE_SOA, &o, ANSWER_UDP, &info);
		expect(p, DNS_RCODE_NOTIMP, false, false, 0, 0, 0);
		assert_int_equal(ldns_pkt_get_opcode(p), op);
		assert_int_equal(info.verdict, WIRE_QUERY_NOTIMP);
		ldns_pkt_free(p);
	}
	/* MAILA and MAILB. */
	ldns_pkt *p = ask(f->main, "example.", DNS_TYPE_MAILA);
	expect(p, DNS_RCODE_NOTIMP, false, false, 0, 0, 0);
	ldns_pkt_free(p);
	p = ask(f->main, "example.", DNS_TYPE_MAILB);
	expect(p, DNS_RCODE_NOTIMP, false, false, 0, 0, 0);
	ldns_pkt_free(p);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct answer_info info;

	/* Outside every zone, and the root above them. */
	ldns_pkt *p = dt_ask(f->main, "www.example.net.", DNS_TYPE_A, NULL, ANSWER_UDP, &info);
	expect(p, DNS_RCODE_REFUSED, false, false, 0, 0, 0);
	assert_null(info.zone);
	ldns_pkt_free(p);
	p = ask(f->main, ".", DNS_TYPE_NS);
	expect(p, DNS_RCODE_REFUSED, false, false, 0, 0, 0);
	ldns_pkt_free(p);
	p = ask(f->main, "notexample.", DNS_TYPE_A);
	expect(p, DNS_RCODE_REFUSED, false, false, 0, 0, 0);
	ldns_pkt_free(p);

	/* A class other than IN, for a name that is in a zone. */
	struct dt_opts o = dt_opts_default();
	o.qclass = 3; /* CH */
	p = dt_ask(f->main, "www.example.", DNS_TYPE_TXT, &o, ANSWER_UDP, NULL);
	expect(p, DNS_RCODE_REFUSED, false, false, 0, 0, 0);
	ldns_pkt_free(p);
}

/* ---- the reply header and the question ---- */

static void test_header_and_question_echo(void **state)
{
	struct fixture *f = *state;
	uint8_t q[512], out[1232];
	struct answer_info info;
	struct dt_opts o = dt_opts_default();

	o.id = 0xa5c3;
	o.flags = WIRE_FLAG_RD | WIRE_FLAG_CD;
	size_t n = dt_query(q, sizeof q, "WwW.ExAmPlE.", DNS_TYPE_A, &o);
	size_t len = answer_query(f->main, q, n, ANSWER_UDP, out, sizeof out, &info);
	assert_true(len > n);
	assert_int_equal(wire_get16(out), 0xa5c3);
	/* QR, AA, RD and CD; no RA, no TC; opcode QUERY, NOERROR. */
	assert_int_equal(wire_get16(out + 2),
			 WIRE_FLAG_QR | WIRE_FLAG_AA | WIRE_FLAG_RD | WIRE_FLAG_CD);
	assert_int_equal(info.flags, wire_get16(out + 2));
	assert_int_equal(wire_get16(out + 4), 1);
	assert_int_equal(wire_get16(out + 6), 1);
	/* The question exactly as sent, letter case included. */
	assert_memory_equal(out + WIRE_HEADER_LEN, q + WIRE_HEADER_LEN, n - WIRE_HEADER_LEN);
	/* The answer's owner points at it. */
	assert_memory_equal(out + n, "\xc0\x0c\0\1\0\1", 6);
	assert_memory_equal(info.query.qname, "\3www\7example", 13);
	assert_int_equal(info.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(info.ancount, 1);
	assert_non_null(info.zone);
	assert_int_equal(zone_version_serial(info.zone), 2024010101);

	/* Without RD, none in the reply. */
	o.flags = 0;
	n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, &o);
	answer_query(f->main, q, n, ANSWER_UDP, out, sizeof out, &info);
	assert_int_equal(wire_get16(out + 2), WIRE_FLAG_QR | WIRE_FLAG_AA);
}

/* ---- authoritative data ---- */

static void test_a_and_aaaa(void **state)
{
	struct fixture *f = *state;

	ldns_pkt *p = ask(f->main, "www.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "www.example. A 192.0.2.80");
	assert_int_equal(ldns_rr_ttl(dt_rr(p, LDNS_SECTION_ANSWER, 0)), 3600);
	ldns_pkt_free(p);

	p = ask(f->main, "www.example.", DNS_TYPE_AAAA);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "www.example. AAAA 2001:db8::80");
	ldns_pkt_free(p);

	/* Both records of an RRset, with the RRset's (lowest) TTL. */
	p = ask(f->main, "ttl.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 2, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "ttl.example. A 192.0.2.1");
	has(p, LDNS_SECTION_ANSWER, "ttl.example. A 192.0.2.2");
	assert_int_equal(ldns_rr_ttl(dt_rr(p, LDNS_SECTION_ANSWER, 0)), 60);
	assert_int_equal(ldns_rr_ttl(dt_rr(p, LDNS_SECTION_ANSWER, 1)), 60);
	ldns_pkt_free(p);
}

static void test_ns_soa_at_apex(void **state)
{
	struct fixture *f = *state;

	/* NS at the apex: authoritative, the name servers' addresses in additional. */
	ldns_pkt *p = ask(f->main, "example.", DNS_TYPE_NS);
	expect(p, DNS_RCODE_NOERROR, true, false, 2, 0, 3);
	has(p, LDNS_SECTION_ANSWER, "example. NS ns1.example.");
	has(p, LDNS_SECTION_ANSWER, "example. NS ns2.example.");
	has(p, LDNS_SECTION_ADDITIONAL, "ns1.example. A 192.0.2.53");
	has(p, LDNS_SECTION_ADDITIONAL, "ns2.example. A 192.0.2.54");
	has(p, LDNS_SECTION_ADDITIONAL, "ns2.example. AAAA 2001:db8::54");
	ldns_pkt_free(p);

	p = ask(f->main, "example.", DNS_TYPE_SOA);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "example. SOA ns1.example. hostmaster.example. 2024010101 "
				    "7200 3600 1209600 600");
	assert_int_equal(ldns_rr_ttl(dt_rr(p, LDNS_SECTION_ANSWER, 0)), 3600);
	ldns_pkt_free(p);
}

static void test_mx_srv_additional(void **state)
{
	struct fixture *f = *state;

	ldns_pkt *p = ask(f->main, "example.", DNS_TYPE_MX);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 1);
	has(p, LDNS_SECTION_ANSWER, "example. MX 10 mail.example.");
	has(p, LDNS_SECTION_ADDITIONAL, "mail.example. A 192.0.2.25");
	ldns_pkt_free(p);

	p = ask(f->main, "_sip._udp.example.", DNS_TYPE_SRV);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 1);
	has(p, LDNS_SECTION_ANSWER, "_sip._udp.example. SRV 10 60 5060 sip.example.");
	has(p, LDNS_SECTION_ADDITIONAL, "sip.example. A 192.0.2.60");
	ldns_pkt_free(p);
}

static void test_txt_ptr_and_other_types(void **state)
{
	struct fixture *f = *state;

	ldns_pkt *p = ask(f->main, "example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "example. TXT \"v=spf1 -all\"");
	ldns_pkt_free(p);

	p = ask(f->main, "ptr.example.", DNS_TYPE_PTR);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "ptr.example. PTR www.example.");
	ldns_pkt_free(p);

	p = ask(f->main, "example.", DNS_TYPE_CAA);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "example. CAA 0 issue \"ca.example.net\"");
	ldns_pkt_free(p);

	p = ask(f->main, "host.example.", DNS_TYPE_HINFO);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "host.example. HINFO \"PC\" \"Linux\"");
	ldns_pkt_free(p);

	p = ask(f->main, "host.example.", DNS_TYPE_SSHFP);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER,
	    "host.example. SSHFP 1 1 0123456789abcdef0123456789abcdef01234567");
	ldns_pkt_free(p);
}

static void test_any(void **state)
{
	struct fixture *f = *state;

	ldns_pkt *p = ask(f->main, "host.example.", DNS_TYPE_ANY);
	expect(p, DNS_RCODE_NOERROR, true, false, 2, 0, 0);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_HINFO), 1);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_SSHFP), 1);
	ldns_pkt_free(p);

	/* At the apex: NS (2), SOA, MX, TXT, CAA, and the NS and MX addresses. */
	p = ask(f->main, "example.", DNS_TYPE_ANY);
	expect(p, DNS_RCODE_NOERROR, true, false, 6, 0, 4);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_NS), 2);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_SOA), 1);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_CAA), 1);
	has(p, LDNS_SECTION_ADDITIONAL, "mail.example. A 192.0.2.25");
	ldns_pkt_free(p);

	/* ANY at an empty non-terminal: NODATA. */
	p = ask(f->main, "c.example.", DNS_TYPE_ANY);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	ldns_pkt_free(p);
}

/* ---- CNAME ---- */

static void test_cname_chain(void **state)
{
	struct fixture *f = *state;

	/* c1 -> c2 -> C3.Example. -> final, which has the address. */
	ldns_pkt *p = ask(f->main, "c1.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 4, 0, 0);
	static const char *const owners[] = { "c1.example.", "c2.example.", "c3.example.",
					      "final.example." };
	static const uint16_t types[] = { DNS_TYPE_CNAME, DNS_TYPE_CNAME, DNS_TYPE_CNAME,
					  DNS_TYPE_A };
	for (size_t i = 0; i < 4; i++) {
		ldns_rr *rr = dt_rr(p, LDNS_SECTION_ANSWER, i);
		assert_true(dt_owner_is(rr, owners[i]));
		assert_int_equal(ldns_rr_get_type(rr), types[i]);
	}
	has(p, LDNS_SECTION_ANSWER, "c2.example. CNAME c3.example.");
	has(p, LDNS_SECTION_ANSWER, "final.example. A 192.0.2.3");
	ldns_pkt_free(p);

	/* Into another data type; into NODATA (the SOA says so). */
	p = ask(f->main, "ftp.example.", DNS_TYPE_AAAA);
	expect(p, DNS_RCODE_NOERROR, true, false, 2, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "ftp.example. CNAME www.example.");
	has(p, LDNS_SECTION_ANSWER, "www.example. AAAA 2001:db8::80");
	ldns_pkt_free(p);
	p = ask(f->main, "ftp.example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 1, 0);
	expect_negative_soa(p, "example.", 600);
	ldns_pkt_free(p);
}

static void test_cname_query_and_out_of_zone(void **state)
{
	struct fixture *f = *state;

	/* Asking for the CNAME itself: just it, not followed. */
	ldns_pkt *p = ask(f->main, "ftp.example.", DNS_TYPE_CNAME);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "ftp.example. CNAME www.example.");
	ldns_pkt_free(p);

	/* A target outside every zone: just the CNAME. */
	p = ask(f->main, "ext.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "ext.example. CNAME www.example.net.");
	ldns_pkt_free(p);

	/* A target in another zone we serve (sub.example.): not followed either. */
	p = ask(f->main, "tosub.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "tosub.example. CNAME www.sub.example.");
	ldns_pkt_free(p);
}

static void test_cname_loops(void **state)
{
	struct fixture *f = *state;

	/* loop-a -> loop-b -> loop-a: it ends, with both links, and only CNAMEs. */
	ldns_pkt *p = ask(f->main, "loop-a.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), DNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	size_t an = dt_count(p, LDNS_SECTION_ANSWER, 0);
	assert_true(an >= 2 && an <= ANSWER_CNAME_CHAIN_MAX);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_CNAME), an);
	assert_true(dt_owner_is(dt_rr(p, LDNS_SECTION_ANSWER, 0), "loop-a.example."));
	assert_true(dt_owner_is(dt_rr(p, LDNS_SECTION_ANSWER, 1), "loop-b.example."));
	has(p, LDNS_SECTION_ANSWER, "loop-b.example. CNAME loop-a.example.");
	ldns_pkt_free(p);

	p = ask(f->main, "self.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), DNS_RCODE_NOERROR);
	an = dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_CNAME);
	assert_true(an >= 1 && an <= ANSWER_CNAME_CHAIN_MAX);
	has(p, LDNS_SECTION_ANSWER, "self.example. CNAME self.example.");
	ldns_pkt_free(p);
}

/* ---- negative answers ---- */

static void test_nxdomain(void **state)
{
	struct fixture *f = *state;
	struct answer_info info;

	/* RFC 2308: the SOA with min(SOA TTL 3600, MINIMUM 600). */
	ldns_pkt *p = dt_ask(f->main, "nope.example.", DNS_TYPE_A, NULL, ANSWER_UDP, &info);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_negative_soa(p, "example.", 600);
	assert_int_equal(info.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(info.nscount, 1);
	ldns_pkt_free(p);

	/* Below an existing name, and below an empty non-terminal. */
	p = ask(f->main, "x.www.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask(f->main, "x.c.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	ldns_pkt_free(p);

	/* In sub.example.: min(SOA TTL 300, MINIMUM 3600). */
	p = ask(f->main, "nope.sub.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_negative_soa(p, "sub.example.", 300);
	ldns_pkt_free(p);
}

static void test_nodata_and_empty_nonterminals(void **state)
{
	struct fixture *f = *state;

	ldns_pkt *p = ask(f->main, "www.example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	expect_negative_soa(p, "example.", 600);
	ldns_pkt_free(p);

	/* Names that exist only because something lies below them. */
	static const char *const ents[] = { "c.example.", "b.c.example.", "_udp.example." };
	for (size_t i = 0; i < 3; i++) {
		p = ask(f->main, ents[i], DNS_TYPE_A);
		expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
		expect_negative_soa(p, "example.", 600);
		ldns_pkt_free(p);
	}
	p = ask(f->main, "a.b.c.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	ldns_pkt_free(p);
}

/* ---- wildcards: the examples of RFC 4592 section 2.2.1 ---- */

static void test_wildcard_matches(void **state)
{
	struct fixture *f = *state;

	/* host3.example. MX: synthesized from *.example., owner = the query name. */
	ldns_pkt *p = ask(f->wild, "host3.example.", DNS_TYPE_MX);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 1);
	ldns_rr *rr = dt_rr(p, LDNS_SECTION_ANSWER, 0);
	assert_true(dt_owner_is(rr, "host3.example."));
	has(p, LDNS_SECTION_ANSWER, "host3.example. MX 10 host1.example.");
	has(p, LDNS_SECTION_ADDITIONAL, "host1.example. A 192.0.2.1");
	ldns_pkt_free(p);

	/* host3.example. A: the wildcard matches but has no A: NODATA. */
	p = ask(f->wild, "host3.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	expect_negative_soa(p, "example.", 600);
	ldns_pkt_free(p);

	/* foo.bar.example. TXT: two labels below the closest encloser still match. */
	p = ask(f->wild, "foo.bar.example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "foo.bar.example. TXT \"this is a wildcard\"");
	ldns_pkt_free(p);

	/* ANY at a synthesized name: both wildcard RRsets, owned by the query name. */
	p = ask(f->wild, "any.example.", DNS_TYPE_ANY);
	expect(p, DNS_RCODE_NOERROR, true, false, 2, 0, 1);
	has(p, LDNS_SECTION_ANSWER, "any.example. TXT \"this is a wildcard\"");
	has(p, LDNS_SECTION_ANSWER, "any.example. MX 10 host1.example.");
	ldns_pkt_free(p);

	/* The wildcard's own name is an ordinary name. */
	p = ask(f->wild, "*.example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "*.example. TXT \"this is a wildcard\"");
	ldns_pkt_free(p);
}

static void test_wildcard_does_not_match(void **state)
{
	struct fixture *f = *state;

	/* host1.example. exists: NODATA, not the wildcard's MX. */
	ldns_pkt *p = ask(f->wild, "host1.example.", DNS_TYPE_MX);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	ldns_pkt_free(p);

	/* sub.*.example. exists: NODATA. */
	p = ask(f->wild, "sub.*.example.", DNS_TYPE_MX);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	ldns_pkt_free(p);

	/* _telnet._tcp.host1.example.: the closest encloser _tcp.host1. has no wildcard. */
	p = ask(f->wild, "_telnet._tcp.host1.example.", DNS_TYPE_SRV);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	ldns_pkt_free(p);

	/* Empty non-terminals exist too: _tcp.host1. and host2. are NODATA. */
	p = ask(f->wild, "_tcp.host1.example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	ldns_pkt_free(p);
	p = ask(f->wild, "host2.example.", DNS_TYPE_TXT);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	ldns_pkt_free(p);

	/* host.subdel.example.: below a zone cut, a referral. */
	p = ask(f->wild, "host.subdel.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, false, false, 0, 2, 0);
	has(p, LDNS_SECTION_AUTHORITY, "subdel.example. NS ns.example.com.");
	ldns_pkt_free(p);

	/* ghost.*.example.: the closest encloser is *.example., which has no "*" child. */
	p = ask(f->wild, "ghost.*.example.", DNS_TYPE_MX);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	ldns_pkt_free(p);
}

static void test_wildcard_cname(void **state)
{
	struct fixture *f = *state;

	ldns_pkt *p = ask(f->wild, "x.cn.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 2, 0, 0);
	ldns_rr *rr = dt_rr(p, LDNS_SECTION_ANSWER, 0);
	assert_true(dt_owner_is(rr, "x.cn.example."));
	has(p, LDNS_SECTION_ANSWER, "x.cn.example. CNAME host1.example.");
	has(p, LDNS_SECTION_ANSWER, "host1.example. A 192.0.2.1");
	ldns_pkt_free(p);

	/* cn.example. itself is an empty non-terminal: NODATA, no synthesis. */
	p = ask(f->wild, "cn.example.", DNS_TYPE_A);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	ldns_pkt_free(p);
}

/* ---- zone cuts ---- */

static void test_referral(void **state)
{
	struct fixture *f = *state;
	struct answer_info info;

	/* At and below the cut, for any type: NS in authority, glue, AA clear. */
	static const char *const names[] = { "www.deleg.example.", "deleg.example.",
					     "a.b.deleg.example.", "ns.deleg.example." };
	for (size_t i = 0; i < 4; i++) {
		ldns_pkt *p = dt_ask(f->main, names[i], DNS_TYPE_A, NULL, ANSWER_UDP, &info);
		expect(p, DNS_RCODE_NOERROR, false, false, 0, 2, 2);
		has(p, LDNS_SECTION_AUTHORITY, "deleg.example. NS ns.deleg.example.");
		has(p, LDNS_SECTION_AUTHORITY, "deleg.example. NS ns.elsewhere.net.");
		has(p, LDNS_SECTION_ADDITIONAL, "ns.deleg.example. A 192.0.2.200");
		has(p, LDNS_SECTION_ADDITIONAL, "ns.deleg.example. AAAA 2001:db8::200");
		assert_false(info.flags & WIRE_FLAG_AA);
		ldns_pkt_free(p);
	}
	ldns_pkt *p = ask(f->main, "deleg.example.", DNS_TYPE_NS);
	expect(p, DNS_RCODE_NOERROR, false, false, 0, 2, 2);
	ldns_pkt_free(p);
	p = ask(f->main, "x.signed.example.", DNS_TYPE_DS);
	expect(p, DNS_RCODE_NOERROR, false, false, 0, 1, 2);
	has(p, LDNS_SECTION_AUTHORITY, "signed.example. NS ns.deleg.example.");
	ldns_pkt_free(p);
}

static void test_ds_at_cut(void **state)
{
	struct fixture *f = *state;

	/* DS belongs to the parent: answered with AA, NODATA if there is none. */
	ldns_pkt *p = ask(f->main, "deleg.example.", DNS_TYPE_DS);
	expect(p, DNS_RCODE_NOERROR, true, false, 0, 1, 0);
	expect_negative_soa(p, "example.", 600);
	ldns_pkt_free(p);

	p = ask(f->main, "signed.example.", DNS_TYPE_DS);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_DS), 1);
	ldns_pkt_free(p);
}

static void test_referral_glue_sets_tc(void **state)
{
	struct fixture *f = *state;

	/* 20 NS fit in 512 octets, their 20 glue addresses do not: TC, NS kept. */
	ldns_pkt *p = ask(f->big, "www.deleg.big.test.", DNS_TYPE_A);
	assert_true(ldns_pkt_tc(p));
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(dt_count(p, LDNS_SECTION_AUTHORITY, DNS_TYPE_NS), 20);
	assert_true(dt_count(p, LDNS_SECTION_ADDITIONAL, 0) < 20);
	ldns_pkt_free(p);

	/* With room (EDNS), all of it and no TC. */
	struct dt_opts o = dt_opts_edns(4096);
	p = dt_ask(f->big, "www.deleg.big.test.", DNS_TYPE_A, &o, ANSWER_UDP, NULL);
	expect(p, DNS_RCODE_NOERROR, false, false, 0, 20, 20);
	ldns_pkt_free(p);

	/* Additional data for an answer is a bonus: left out without TC. */
	p = ask(f->big, "mx.big.test.", DNS_TYPE_MX);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, DNS_TYPE_MX), 20);
	assert_true(dt_count(p, LDNS_SECTION_ADDITIONAL, 0) < 20);
	ldns_pkt_free(p);
}

/* ---- EDNS ---- */

static void test_edns(void **state)
{
	struct fixture *f = *state;

	/* With an OPT: one back, advertising 1232, version 0, DO copied. */
	struct dt_opts o = dt_opts_edns(4096);
	ldns_pkt *p = dt_ask(f->main, "www.example.", DNS_TYPE_A, &o, ANSWER_UDP, NULL);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), ANSWER_EDNS_PAYLOAD);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 0);
	assert_false(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);

	o.dnssec_ok = true;
	p = dt_ask(f->main, "www.example.", DNS_TYPE_A, &o, ANSWER_UDP, NULL);
	assert_true(ldns_pkt_edns(p));
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);

	/* Negative answers carry it too. */
	p = dt_ask(f->main, "nope.example.", DNS_TYPE_A, &o, ANSWER_UDP, NULL);
	expect(p, DNS_RCODE_NXDOMAIN, true, false, 0, 1, 0);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* Without an OPT: none back (arcount 0 on the wire). */
	uint8_t q[512], out[1232];
	struct answer_info info;
	size_t n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, NULL);
	size_t len = answer_query(f->main, q, n, ANSWER_UDP, out, sizeof out, &info);
	assert_int_equal(wire_get16(out + 10), 0);
	p = dt_parse(out, len);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);
}

static void test_edns_badvers(void **state)
{
	struct fixture *f = *state;
	uint8_t q[512], out[1232];
	struct answer_info info;
	struct dt_opts o = dt_opts_edns(1232);

	o.version = 1;
	size_t n = dt_query(q, sizeof q, "www.example.", DNS_TYPE_A, &o);
	size_t len = answer_query(f->main, q, n, ANSWER_UDP, out, sizeof out, &info);
	/* BADVERS (16): 0 in the header's 4 bits, 1 in the OPT's extended rcode. */
	assert_int_equal(info.rcode, DNS_RCODE_BADVERS);
	assert_int_equal(wire_get16(out + 2) & 0xf, 0);
	ldns_pkt *p = dt_parse(out, len);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, 0), 0);
	ldns_pkt_free(p);
}

/* ---- truncation ---- */

static void test_truncation(void **state)
{
	struct fixture *f = *state;
	struct answer_info info;

	/* 40 addresses without EDNS: more than 512 octets, so TC and empty sections. */
	uint8_t q[512], out[WIRE_MSG_MAX];
	size_t n = dt_query(q, sizeof q, "many.big.test.", DNS_TYPE_A, NULL);
	size_t len = answer_query(f->big, q, n, ANSWER_UDP, out, ANSWER_EDNS_PAYLOAD, &info);
	assert_int_equal(len, n); /* the header and the question, nothing after them */
	ldns_pkt *p = dt_parse(out, len);
	expect(p, DNS_RCODE_NOERROR, true, true, 0, 0, 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_true(info.flags & WIRE_FLAG_TC);
	assert_int_equal(info.ancount, 0);
	ldns_pkt_free(p);

	/* No partial answers either: the CNAME that fitted goes too. */
	n = dt_query(q, sizeof q, "tomany.big.test.", DNS_TYPE_A, NULL);
	len = answer_query(f->big, q, n, ANSWER_UDP, out, ANSWER_EDNS_PAYLOAD, &info);
	assert_int_equal(len, n);
	assert_true(info.flags & WIRE_FLAG_TC);
	assert_int_equal(wire_get16(out + 6), 0);
	p = dt_ask(f->big, "tomany.big.test.", DNS_TYPE_A, NULL, ANSWER_TCP, NULL);
	expect(p, DNS_RCODE_NOERROR, true, false, 41, 0, 0);
	ldns_pkt_free(p);

	/* A client payload below 512 counts as 512. The OPT stays (the query's is as long). */
	struct dt_opts o = dt_opts_edns(100);
	n = dt_query(q, sizeof q, "many.big.test.", DNS_TYPE_A, &o);
	len = answer_query(f->big, q, n, ANSWER_UDP, out, ANSWER_EDNS_PAYLOAD, &info);
	assert_int_equal(len, n);
	p = dt_parse(out, len);
	expect(p, DNS_RCODE_NOERROR, true, true, 0, 0, 0);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);

	/* EDNS 4096: it fits in 1232. */
	o = dt_opts_edns(4096);
	n = dt_query(q, sizeof q, "many.big.test.", DNS_TYPE_A, &o);
	len = answer_query(f->big, q, n, ANSWER_UDP, out, ANSWER_EDNS_PAYLOAD, &info);
	assert_true(len > 512 && len <= ANSWER_EDNS_PAYLOAD);
	p = dt_parse(out, len);
	expect(p, DNS_RCODE_NOERROR, true, false, 40, 0, 0);
	ldns_pkt_free(p);

	/* The client's size counts when smaller than ours: 600 is too small. */
	o = dt_opts_edns(600);
	p = dt_ask(f->big, "many.big.test.", DNS_TYPE_A, &o, ANSWER_UDP, NULL);
	expect(p, DNS_RCODE_NOERROR, true, true, 0, 0, 0);
	ldns_pkt_free(p);

	/* TCP: the whole RRset. */
	p = dt_ask(f->big, "many.big.test.", DNS_TYPE_A, NULL, ANSWER_TCP, NULL);
	expect(p, DNS_RCODE_NOERROR, true, false, 40, 0, 0);
	ldns_pkt_free(p);

	/* 100 addresses: too big even for 1232, even though the client offers 4096. */
	o = dt_opts_edns(4096);
	n = dt_query(q, sizeof q, "huge.big.test.", DNS_TYPE_A, &o);
	len = answer_query(f->big, q, n, ANSWER_UDP, out, ANSWER_EDNS_PAYLOAD, &info);
	assert_int_equal(len, n);
	p = dt_parse(out, len);
	expect(p, DNS_RCODE_NOERROR, true, true, 0, 0, 0);
	assert_true(ldns_pkt_edns(p));
	ldns_pkt_free(p);
	/* Over TCP it fits. */
	len = answer_query(f->big, q, n, ANSWER_TCP, out, WIRE_MSG_MAX, &info);
	assert_true(len > ANSWER_EDNS_PAYLOAD);
	p = dt_parse(out, len);
	expect(p, DNS_RCODE_NOERROR, true, false, 100, 0, 0);
	ldns_pkt_free(p);
}

/* Answers into a buffer of cap octets followed by a canary; checks the canary. */
static size_t guarded(const struct zone_set *z, const uint8_t *q, size_t n,
		      enum answer_transport t, size_t cap, ldns_pkt **pkt)
{
	enum { CANARY = 256 };
	uint8_t *buf = malloc(cap + CANARY);
	struct answer_info info;

	assert_non_null(buf);
	memset(buf, 0xa5, cap + CANARY);
	size_t len = answer_query(z, q, n, t, buf, cap, &info);
	for (size_t i = cap; i < cap + CANARY; i++)
		if (buf[i] != 0xa5)
			fail_msg("octet %zu written past cap %zu", i, cap);
	assert_true(len <= cap);
	*pkt = dt_parse(buf, len);
	free(buf);
	return len;
}

static void test_never_past_cap(void **state)
{
	struct fixture *f = *state;
	uint8_t q[512];
	ldns_pkt *p;

	/* cap 512 without EDNS, cap 600 with a client offering 4096, cap 1232 and 100 records. */
	size_t n = dt_query(q, sizeof q, "many.big.test.", DNS_TYPE_A, NULL);
	guarded(f->big, q, n, ANSWER_UDP, 512, &p);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);

	struct dt_opts o = dt_opts_edns(4096);
	n = dt_query(q, sizeof q, "many.big.test.", DNS_TYPE_A, &o);
	guarded(f->big, q, n, ANSWER_UDP, 600, &p);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);
	size_t len = guarded(f->big, q, n, ANSWER_UDP, 1232, &p);
	assert_false(ldns_pkt_tc(p));
	assert_true(len > 600);
	ldns_pkt_free(p);

	n = dt_query(q, sizeof q, "huge.big.test.", DNS_TYPE_A, &o);
	guarded(f->big, q, n, ANSWER_UDP, 1232, &p);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);

	/* The referral whose glue overflows, and the MX whose additional data does. */
	n = dt_query(q, sizeof q, "www.deleg.big.test.", DNS_TYPE_A, NULL);
	guarded(f->big, q, n, ANSWER_UDP, 512, &p);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);
	n = dt_query(q, sizeof q, "mx.big.test.", DNS_TYPE_MX, NULL);
	guarded(f->big, q, n, ANSWER_UDP, 512, &p);
	ldns_pkt_free(p);
}

/* ---- zone transfers ---- */

static void test_axfr_refusals(void **state)
{
	struct fixture *f = *state;
	struct answer_info info;

	/* Over UDP: FORMERR (RFC 5936 4.2). */
	ldns_pkt *p = dt_ask(f->main, "example.", DNS_TYPE_AXFR, NULL, ANSWER_UDP, &info);
	expect(p, DNS_RCODE_FORMERR, false, false, 0, 0, 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	ldns_pkt_free(p);

	/* Not the apex of a zone: NOTAUTH; outside every zone: REFUSED. */
	p = dt_ask(f->main, "www.example.", DNS_TYPE_AXFR, NULL, ANSWER_TCP, &info);
	expect(p, DNS_RCODE_NOTAUTH, false, false, 0, 0, 0);
	assert_int_equal(info.rcode, DNS_RCODE_NOTAUTH);
	ldns_pkt_free(p);
	p = dt_ask(f->main, "deleg.example.", DNS_TYPE_AXFR, NULL, ANSWER_TCP, &info);
	expect(p, DNS_RCODE_NOTAUTH, false, false, 0, 0, 0);
	ldns_pkt_free(p);
	p = dt_ask(f->main, "example.net.", DNS_TYPE_AXFR, NULL, ANSWER_TCP, &info);
	expect(p, DNS_RCODE_REFUSED, false, false, 0, 0, 0);
	ldns_pkt_free(p);

	answer_axfr_destroy(NULL);
}

/* Starts a transfer of name over TCP; returns it (never NULL). */
static struct answer_axfr *start_axfr(const struct zone_set *z, const char *name, uint16_t type,
				      const uint8_t *extra, size_t extra_len, uint16_t nscount)
{
	uint8_t q[512], out[WIRE_MSG_MAX];
	struct answer_info info;
	struct dt_opts o = dt_opts_default();

	o.id = 0x4242;
	size_t n = dt_query(q, sizeof q, name, type, &o);
	if (extra_len)
		memcpy(q + n, extra, extra_len);
	wire_put16(q + 8, nscount);
	memset(out, 0xee, 16);
	size_t len = answer_query(z, q, n + extra_len, ANSWER_TCP, out, sizeof out, &info);
	assert_int_equal(len, 0);
	assert_int_equal(info.action, ANSWER_AXFR);
	assert_non_null(info.zone);
	assert_int_equal(out[0], 0xee);
	struct answer_axfr *x = answer_axfr_create(&info);
	assert_non_null(x);
	return x;
}

/*
 * Streams a transfer with messages of at most cap octets, checking each
 * message's header, and returns every record in order. *messages gets the
 * number of messages.
 */
static ldns_rr_list *stream(struct answer_axfr *x, size_t cap, const char *origin,
			    uint16_t qtype, size_t *messages)
{
	uint8_t *buf = malloc(cap + 64);
	ldns_rr_list *all = ldns_rr_list_new();
	size_t len;

	assert_non_null(buf);
	*messages = 0;
	memset(buf, 0x5a, cap + 64);
	while ((len = answer_axfr_next(x, buf, cap)) > 0) {
		assert_true(len <= cap);
		assert_int_equal(buf[cap], 0x5a);
		(*messages)++;
		ldns_pkt *p = dt_parse(buf, len);
		assert_int_equal(ldns_pkt_id(p), 0x4242);
		assert_true(ldns_pkt_qr(p));
		assert_true(ldns_pkt_aa(p));
		assert_int_equal(ldns_pkt_get_rcode(p), DNS_RCODE_NOERROR);
		assert_int_equal(ldns_pkt_qdcount(p), 1);
		ldns_rr *question = dt_rr(p, LDNS_SECTION_QUESTION, 0);
		assert_true(dt_owner_is(question, origin));
		assert_int_equal(ldns_rr_get_type(question), qtype);
		assert_true(dt_count(p, LDNS_SECTION_ANSWER, 0) > 0);
		ldns_rr_list *an = ldns_pkt_answer(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
			ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_rr_list_rr(an, i)));
		ldns_pkt_free(p);
		assert_true(*messages < 10000);
	}
	/* Done is done. */
	assert_int_equal(answer_axfr_next(x, buf, cap), 0);
	free(buf);
	return all;
}

/* Checks a transfer: SOA first and last, and exactly the expected records, each once. */
static void expect_transfer(const ldns_rr_list *got, const ldns_rr_list *want)
{
	size_t n = ldns_rr_list_rr_count(got), m = ldns_rr_list_rr_count(want);
	assert_int_equal(n, m + 1);
	ldns_rr *first = ldns_rr_list_rr(got, 0), *last = ldns_rr_list_rr(got, n - 1);
	assert_int_equal(ldns_rr_get_type(first), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_compare(first, ldns_rr_list_rr(want, 0)), 0);
	assert_int_equal(ldns_rr_compare(last, first), 0);

	bool *seen = calloc(m, sizeof *seen);
	assert_non_null(seen);
	for (size_t i = 0; i + 1 < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(got, i);
		size_t j = 0;
		while (j < m && ldns_rr_compare(rr, ldns_rr_list_rr(want, j)) != 0)
			j++;
		if (j == m) {
			char *s = ldns_rr2str(rr);
			fail_msg("transfer has a record the zone has not: %s", s);
		}
		if (seen[j]) {
			char *s = ldns_rr2str(rr);
			fail_msg("transfer has a record twice: %s", s);
		}
		assert_int_equal(ldns_rr_ttl(rr), ldns_rr_ttl(ldns_rr_list_rr(want, j)));
		seen[j] = true;
	}
	free(seen);
}

static void test_axfr_stream(void **state)
{
	struct fixture *f = *state;
	size_t messages;

	/* 424 records in 512-octet messages: many messages. */
	struct answer_axfr *x = start_axfr(f->big, "big.test.", DNS_TYPE_AXFR, NULL, 0, 0);
	ldns_rr_list *got = stream(x, 512, "big.test.", DNS_TYPE_AXFR, &messages);
	answer_axfr_destroy(x);
	assert_true(messages >= 10);
	expect_transfer(got, f->big_rrs);
	ldns_rr_list_deep_free(got);

	/* In 64 KiB messages it takes one. */
	x = start_axfr(f->big, "big.test.", DNS_TYPE_AXFR, NULL, 0, 0);
	got = stream(x, WIRE_MSG_MAX, "big.test.", DNS_TYPE_AXFR, &messages);
	answer_axfr_destroy(x);
	assert_int_equal(messages, 1);
	expect_transfer(got, f->big_rrs);
	ldns_rr_list_deep_free(got);
}

static void test_axfr_file_zone(void **state)
{
	struct fixture *f = *state;
	size_t messages;

	/* example.: its 36 records, glue and DS included, plus the closing SOA. */
	struct answer_axfr *x = start_axfr(f->main, "example.", DNS_TYPE_AXFR, NULL, 0, 0);
	ldns_rr_list *got = stream(x, 512, "example.", DNS_TYPE_AXFR, &messages);
	answer_axfr_destroy(x);
	size_t n = ldns_rr_list_rr_count(got);
	assert_int_equal(n, 37);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(got, 0)), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(got, n - 1)), LDNS_RR_TYPE_SOA);
	for (size_t i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j + 1 < n; j++)
			assert_int_not_equal(ldns_rr_compare(ldns_rr_list_rr(got, i),
							     ldns_rr_list_rr(got, j)),
					     0);
	ldns_rr *rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, "ns.deleg.example. A 192.0.2.200", 0, NULL,
					     NULL),
			 LDNS_STATUS_OK);
	assert_true(ldns_rr_list_contains_rr(got, rr));
	ldns_rr_free(rr);
	ldns_rr_list_deep_free(got);
}

static void test_axfr_keeps_its_version(void **state)
{
	(void)state;
	uint8_t buf[WIRE_MSG_MAX];
	struct zone_set *s = dt_zones("example.zone", NULL);
	struct answer_axfr *x = start_axfr(s, "example.", DNS_TYPE_AXFR, NULL, 0, 0);

	/* The set (and its references) goes; the transfer still has its version. */
	zone_set_destroy(s);
	size_t len = answer_axfr_next(x, buf, sizeof buf);
	assert_true(len > 0);
	ldns_pkt *p = dt_parse(buf, len);
	assert_int_equal(dt_count(p, LDNS_SECTION_ANSWER, 0), 37);
	ldns_pkt_free(p);
	assert_int_equal(answer_axfr_next(x, buf, sizeof buf), 0);
	answer_axfr_destroy(x);

	/* Abandoned half way: destroy frees what it holds. */
	s = dt_zones("example.zone", NULL);
	x = start_axfr(s, "example.", DNS_TYPE_AXFR, NULL, 0, 0);
	assert_true(answer_axfr_next(x, buf, 512) > 0);
	answer_axfr_destroy(x);
	zone_set_destroy(s);
}

static void test_ixfr(void **state)
{
	struct fixture *f = *state;
	/* The client's SOA (serial 1) in the authority section, as RFC 1995 asks. */
	static const uint8_t client_soa[] = "\xc0\x0c\0\6\0\1\0\0\0\x3c\0\x16"
					    "\0\0\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1";
	uint8_t q[512], out[1232];
	struct answer_info info;

	/* Over UDP: the current SOA, so the client knows to come back over TCP. */
	size_t n = dt_query(q, sizeof q, "example.", DNS_TYPE_IXFR, NULL);
	memcpy(q + n, client_soa, sizeof client_soa - 1);
	wire_put16(q + 8, 1);
	size_t len = answer_query(f->main, q, n + sizeof client_soa - 1, ANSWER_UDP, out,
				  sizeof out, &info);
	assert_int_equal(info.action, ANSWER_REPLY);
	ldns_pkt *p = dt_parse(out, len);
	expect(p, DNS_RCODE_NOERROR, true, false, 1, 0, 0);
	has(p, LDNS_SECTION_ANSWER, "example. SOA ns1.example. hostmaster.example. 2024010101 "
				    "7200 3600 1209600 600");
	ldns_pkt_free(p);

	/* Over TCP: a full transfer. */
	size_t messages;
	struct answer_axfr *x = start_axfr(f->big, "big.test.", DNS_TYPE_IXFR, client_soa,
					   sizeof client_soa - 1, 1);
	ldns_rr_list *got = stream(x, WIRE_MSG_MAX, "big.test.", DNS_TYPE_IXFR, &messages);
	answer_axfr_destroy(x);
	expect_transfer(got, f->big_rrs);
	ldns_rr_list_deep_free(got);
}

/* ---- names for logs ---- */

static void test_names(void **state)
{
	(void)state;
	char buf[16];

	assert_string_equal(answer_rcode_str(0, buf, sizeof buf), "NOERROR");
	assert_string_equal(answer_rcode_str(DNS_RCODE_NOTAUTH, buf, sizeof buf), "NOTAUTH");
	assert_string_equal(answer_rcode_str(DNS_RCODE_BADVERS, buf, sizeof buf), "BADVERS");
	assert_string_equal(answer_rcode_str(23, buf, sizeof buf), "RCODE23");
	assert_string_equal(answer_type_str(DNS_TYPE_AAAA, buf, sizeof buf), "AAAA");
	assert_string_equal(answer_type_str(DNS_TYPE_AXFR, buf, sizeof buf), "AXFR");
	assert_string_equal(answer_type_str(65534, buf, sizeof buf), "TYPE65534");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_formerr),
		cmocka_unit_test(test_notimp),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_header_and_question_echo),
		cmocka_unit_test(test_a_and_aaaa),
		cmocka_unit_test(test_ns_soa_at_apex),
		cmocka_unit_test(test_mx_srv_additional),
		cmocka_unit_test(test_txt_ptr_and_other_types),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_query_and_out_of_zone),
		cmocka_unit_test(test_cname_loops),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata_and_empty_nonterminals),
		cmocka_unit_test(test_wildcard_matches),
		cmocka_unit_test(test_wildcard_does_not_match),
		cmocka_unit_test(test_wildcard_cname),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_ds_at_cut),
		cmocka_unit_test(test_referral_glue_sets_tc),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_edns_badvers),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_never_past_cap),
		cmocka_unit_test(test_axfr_refusals),
		cmocka_unit_test(test_axfr_stream),
		cmocka_unit_test(test_axfr_file_zone),
		cmocka_unit_test(test_axfr_keeps_its_version),
		cmocka_unit_test(test_ixfr),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
