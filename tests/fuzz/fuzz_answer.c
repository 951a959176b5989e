/*
 * fuzz_answer.c - libFuzzer target for the answer engine: arbitrary query
 * octets, answered over UDP and over TCP from a fixed zone set built to reach
 * every path of answer.c (CNAME chains, loops and exits, wildcards, referrals
 * with glue, empty non-terminals, additional-section targets, truncation,
 * child zones), with every zone transfer drained.
 *
 * Besides what the sanitizers see (replies go into exactly-sized heap
 * buffers, so a write past cap is a heap overflow), it checks what the engine
 * promises: the length fits cap, a reply has a header, our id and QR; UDP
 * stays within 512 octets or the EDNS size (at most 1232); a query that ldns
 * parses too is read the same (question, EDNS); ldns parses every reply and
 * its question is the query's; a UDP reply that is not truncated
 * agrees with the TCP one; a transfer streams each record once between two
 * SOAs and then ends.
 */
#include "fakeresolver/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UDP_CAP  ANSWER_EDNS_PAYLOAD
#define TCP_CAP  WIRE_MSG_MAX
#define AXFR_CAP WIRE_UDP_MIN

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* libFuzzer gives a target no context pointer: the zones live here, built once. */
static struct zone_set *fuzz_zones;

/*
 * example. reaches every branch of resolve(): the comments say which. Relative
 * names keep it short; write_example_zone adds the generated parts.
 */
static const char example_zone[] =
        "$ORIGIN example.\n"
        "$TTL 3600\n"
        "@ SOA ns1 hostmaster 2026010101 7200 900 1209600 300\n"
        "  NS ns1\n"
        "  NS NS2.Example.\n"
        "  MX 10 mail\n"
        "  TXT \"apex\"\n"
        "ns1 A 192.0.2.1\n"
        "    AAAA 2001:db8::1\n"
        "ns2 A 192.0.2.2\n"
        "www A 192.0.2.10\n"
        "    A 192.0.2.11\n"
        "    AAAA 2001:db8::10\n"
        "MixedCase A 192.0.2.12\n"
        /* CNAME chains: through, into a loop, out of the zone, into a child zone */
        "a CNAME b\n"
        "b CNAME C.Example.\n"
        "c CNAME www\n"
        "loop1 CNAME loop2\n"
        "loop2 CNAME loop1\n"
        "self CNAME self\n"
        "out CNAME www.other.\n"
        "far CNAME nowhere.invalid.\n"
        "child CNAME www.sub\n"
        "tonx CNAME missing\n"
        "tonodata CNAME ns2\n"
        "tows CNAME host.wild\n"
        "todeleg CNAME host.deleg\n"
        "toent CNAME deep.ent\n"
        "tomail CNAME mail\n"
        /* wildcards, a wildcard CNAME, a wildcard loop, an exact name beside one */
        "*.wild A 192.0.2.20\n"
        "       MX 10 mail\n"
        "       TXT \"wild\"\n"
        "exact.wild TXT \"not from the wildcard\"\n"
        "*.wc CNAME www\n"
        "*.wloop CNAME again.wloop\n"
        "*.wdeleg NS ns1\n"
        "x.*.star A 192.0.2.21\n"
        /* empty non-terminals: ent and deep.ent hold nothing */
        "host.deep.ent A 192.0.2.30\n"
        /* a zone cut with in- and out-of-bailiwick NS, glue, a DS and occluded data */
        "deleg NS ns.deleg\n"
        "      NS ns.other.\n"
        "      NS ns1\n"
        "      DS 12345 8 2 49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC\n"
        "ns.deleg A 192.0.2.40\n"
        "         AAAA 2001:db8::40\n"
        "junk.deleg TXT \"occluded\"\n"
        /* a cut under an empty non-terminal, and a nested cut below it */
        "z.y.cut NS ns.z.y.cut\n"
        "ns.z.y.cut A 192.0.2.41\n"
        "n.z.y.cut NS ns1\n"
        /* the parent side of the child zone sub. */
        "sub NS ns.sub\n"
        "ns.sub A 192.0.2.42\n"
        /* targets for the additional section */
        "mail MX 10 mx1\n"
        "     MX 20 mx2.other.\n"
        "     MX 30 WWW\n"
        "     MX 40 gone\n"
        "mx1 A 192.0.2.50\n"
        "    AAAA 2001:db8::50\n"
        "_sip._tcp SRV 0 5 5060 sip\n"
        "          SRV 1 5 5060 www\n"
        "          SRV 2 5 5061 sip\n"
        "sip A 192.0.2.60\n"
        /* opaque and less common types */
        "ptr PTR www\n"
        "dname DNAME other.\n"
        "txt TXT \"v=spf1 -all\" \"second string\"\n"
        "unknown TYPE65280 \\# 4 deadbeef\n"
        "empty TYPE65281 \\# 0\n";

static const char sub_zone[] = "$ORIGIN sub.example.\n"
                               "$TTL 600\n"
                               "@ SOA ns.sub.example. h.sub.example. 7 3600 600 86400 60\n"
                               "  NS ns\n"
                               "ns A 192.0.2.42\n"
                               "www A 192.0.2.43\n"
                               "up CNAME www.example.\n"
                               "*.any CNAME www\n";

static const char other_zone[] = "$ORIGIN other.\n"
                                 "@ 300 SOA ns hostmaster 1 3600 600 86400 3600\n"
                                 "  300 NS ns\n"
                                 "ns 300 A 198.51.100.1\n"
                                 "www 300 A 198.51.100.2\n"
                                 "mx2 300 A 198.51.100.3\n";

/* Writes example. with its generated parts: long names, a big RRset, a fat referral. */
static void write_example_zone(FILE *f)
{
	char l63[64];
	memset(l63, 'l', 63);
	l63[63] = 0;

	fputs(example_zone, f);
	/* A chain longer than ANSWER_CNAME_CHAIN_MAX. */
	for (int i = 0; i < ANSWER_CNAME_CHAIN_MAX + 4; i++)
		fprintf(f, "chain%d CNAME chain%d\n", i, i + 1);
	fprintf(f, "chain%d A 192.0.2.70\n", ANSWER_CNAME_CHAIN_MAX + 4);
	/* Names close to 255 octets, and a wildcard under one. */
	fprintf(f, "%s.%s.%s A 192.0.2.80\n", l63, l63, l63);
	fprintf(f, "*.%s.%s.%s TXT \"long wildcard\"\n", l63, l63, l63);
	fprintf(f, "%s.%s.%s CNAME %s.%s.%s\n", l63, l63, l63 + 20, l63, l63, l63);
	/* 100 addresses: more than UDP can carry, with or without EDNS. */
	for (int i = 0; i < 100; i++)
		fprintf(f, "big A 10.0.%d.%d\n", i / 10, i % 10 + 1);
	for (int i = 0; i < 8; i++)
		fprintf(f, "bigtxt TXT \"%d%0199d\"\n", i, 0);
	/* CNAMEs with long targets: a chain that outgrows 512 octets. */
	for (int i = 0; i < 12; i++)
		fprintf(f, "lc%d CNAME lc%d%.*s\n", i, i + 1, 58, l63);
	for (int i = 1; i < 12; i++)
		fprintf(f, "lc%d%.*s CNAME lc%d\n", i, 58, l63, i);
	fprintf(f, "lc12 A 192.0.2.90\n");
	/*
	 * A referral with more NS names than the additional section tracks, whose
	 * NS RRset fits 1232 octets but not 512, and whose glue fits neither.
	 */
	for (int i = 0; i < 40; i++) {
		fprintf(f, "fat NS ns%02d.fat\n", i);
		fprintf(f, "ns%02d.fat A 192.0.2.%d\n", i, 100 + i);
		fprintf(f, "ns%02d.fat AAAA 2001:db8::f:%d\n", i, i);
	}
}

/* Loads zone text through a temporary file, as the daemon loads master files. */
static struct zone_version *load_text(const char *text, void (*writer)(FILE *))
{
	char path[] = "/tmp/fuzz_answer.XXXXXX";
	char err[512];
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("fuzz_answer: mkstemp");
		abort();
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		perror("fuzz_answer: fdopen");
		abort();
	}
	if (writer)
		writer(f);
	else
		fputs(text, f);
	fclose(f);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	unlink(path);
	if (!v) {
		fprintf(stderr, "fuzz_answer: the fixture zone does not load: %s\n", err);
		abort();
	}
	return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	struct zone_version *vs[] = {
	        load_text(NULL, write_example_zone),
	        load_text(sub_zone, NULL),
	        load_text(other_zone, NULL),
	};
	fuzz_zones = zone_set_create();
	CHECK(fuzz_zones);
	for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
		CHECK(zone_set_add(fuzz_zones, vs[i], true) == 0);
		zone_version_unref(vs[i]); /* the set holds its own reference */
	}
	return 0;
}

/* The UDP size the engine must stay within for this query. */
static size_t udp_limit(const struct answer_info *info)
{
	const struct wire_query *q = &info->query;
	size_t limit = WIRE_UDP_MIN;
	if (q->edns && q->edns_udp_size > limit)
		limit = q->edns_udp_size < UDP_CAP ? q->edns_udp_size : UDP_CAP;
	return limit;
}

/* Parses a message with ldns, an independent parser; aborts if it does not parse. */
static ldns_pkt *parse_ldns(const uint8_t *msg, size_t n)
{
	ldns_pkt *p = NULL;
	ldns_status st = ldns_wire2pkt(&p, msg, n);
	if (st != LDNS_STATUS_OK) {
		fprintf(stderr, "reply does not parse: %s\n", ldns_get_errorstr_by_id(st));
		CHECK(st == LDNS_STATUS_OK);
	}
	return p;
}

/* Where ldns also accepts a query our parser accepted, both read the same question and EDNS. */
static void check_parse(const uint8_t *q, size_t qlen, const struct answer_info *info)
{
	const struct wire_query *wq = &info->query;
	ldns_pkt *p = NULL;
	if (info->verdict != WIRE_QUERY_OK || ldns_wire2pkt(&p, q, qlen) != LDNS_STATUS_OK)
		return;
	const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	CHECK(ldns_pkt_id(p) == wq->id);
	CHECK(ldns_rdf_size(ldns_rr_owner(qr)) == wq->qname_len);
	CHECK(wire_name_equal(ldns_rdf_data(ldns_rr_owner(qr)), wq->qname));
	CHECK(ldns_rr_get_type(qr) == wq->qtype && ldns_rr_get_class(qr) == wq->qclass);
	CHECK(ldns_pkt_edns_udp_size(p) == wq->edns_udp_size);
	CHECK(ldns_pkt_edns_version(p) == wq->edns_version);
	CHECK(ldns_pkt_edns_do(p) == wq->edns_do);
	ldns_pkt_free(p);
}

/* Checks one answer_query outcome against the query it answered. */
static void check_answer(const uint8_t *q, size_t qlen, enum answer_transport tp,
                         const uint8_t *out, size_t n, size_t cap, const struct answer_info *info)
{
	CHECK(n <= cap);
	if (info->action != ANSWER_REPLY) {
		CHECK(n == 0);
		if (info->action == ANSWER_AXFR)
			CHECK(tp == ANSWER_TCP && info->zone != NULL);
		return;
	}
	CHECK(n >= WIRE_HEADER_LEN);
	CHECK(qlen >= WIRE_HEADER_LEN);
	CHECK(wire_get16(out) == wire_get16(q));
	CHECK(wire_get16(out + 2) & WIRE_FLAG_QR);
	CHECK(wire_get16(out + 2) == info->flags);
	CHECK(wire_get16(out + 6) == info->ancount);
	CHECK(wire_get16(out + 8) == info->nscount);
	CHECK(wire_get16(out + 10) == info->arcount);
	if (tp == ANSWER_UDP)
		CHECK(n <= udp_limit(info));

	/* The reply parses, and its question is the query's, whatever the query's encoding. */
	ldns_pkt *p = parse_ldns(out, n);
	uint16_t qd = wire_get16(out + 4);
	CHECK(qd == (info->query.question_end ? 1 : 0));
	if (qd == 1) {
		const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
		const ldns_rdf *owner = ldns_rr_owner(qr);
		CHECK(ldns_rdf_size(owner) == info->query.qname_len);
		CHECK(wire_name_equal(ldns_rdf_data(owner), info->query.qname));
		CHECK(ldns_rr_get_type(qr) == info->query.qtype);
		CHECK(ldns_rr_get_class(qr) == info->query.qclass);
	}
	ldns_pkt_free(p);
}

/* Streams a transfer in small messages: each record once, between two SOAs, then the end. */
static void drain_axfr(const struct answer_info *info)
{
	struct answer_axfr *x = answer_axfr_create(info);
	uint8_t *buf = malloc(AXFR_CAP);
	if (!x || !buf)
		goto out; /* out of memory is an answer, not a bug */
	size_t records = zone_version_record_count(info->zone);
	size_t rrs = 0, msgs = 0;
	ldns_rr_type first = 0, last = 0;
	size_t n;
	while ((n = answer_axfr_next(x, buf, AXFR_CAP)) != 0) {
		/* Every message carries a record, so more messages than records is a runaway. */
		CHECK(++msgs <= records + 1);
		CHECK(n >= WIRE_HEADER_LEN && n <= AXFR_CAP);
		CHECK(wire_get16(buf) == info->query.id);
		CHECK(wire_get16(buf + 2) & WIRE_FLAG_QR);
		ldns_pkt *p = parse_ldns(buf, n);
		ldns_rr_list *an = ldns_pkt_answer(p);
		size_t count = ldns_rr_list_rr_count(an);
		CHECK(count > 0);
		if (msgs == 1)
			first = ldns_rr_get_type(ldns_rr_list_rr(an, 0));
		last = ldns_rr_get_type(ldns_rr_list_rr(an, count - 1));
		rrs += count;
		ldns_pkt_free(p);
	}
	CHECK(rrs == records + 1);
	CHECK(first == LDNS_RR_TYPE_SOA && last == LDNS_RR_TYPE_SOA);
	CHECK(answer_axfr_next(x, buf, AXFR_CAP) == 0);
out:
	free(buf);
	answer_axfr_destroy(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer_info udp, tcp;
	uint8_t *uout = malloc(UDP_CAP);
	uint8_t *tout = malloc(TCP_CAP);
	if (!uout || !tout)
		goto out;

	size_t un = answer_query(fuzz_zones, data, size, ANSWER_UDP, uout, UDP_CAP, &udp);
	check_parse(data, size, &udp);
	check_answer(data, size, ANSWER_UDP, uout, un, UDP_CAP, &udp);
	size_t tn = answer_query(fuzz_zones, data, size, ANSWER_TCP, tout, TCP_CAP, &tcp);
	check_answer(data, size, ANSWER_TCP, tout, tn, TCP_CAP, &tcp);

	/*
	 * Without TC, UDP said everything TCP says, bar additional records that did
	 * not fit. Zone transfers (FORMERR or an SOA over UDP) are the exception.
	 */
	bool xfr = udp.query.qtype == DNS_TYPE_AXFR || udp.query.qtype == DNS_TYPE_IXFR;
	if (udp.action == ANSWER_REPLY && tcp.action == ANSWER_REPLY && !xfr &&
	    !(udp.flags & WIRE_FLAG_TC)) {
		CHECK(udp.rcode == tcp.rcode);
		CHECK(udp.flags == tcp.flags);
		CHECK(udp.ancount == tcp.ancount);
		CHECK(udp.nscount == tcp.nscount);
		CHECK(un <= tn);
	}
	if (tcp.action == ANSWER_AXFR)
		drain_axfr(&tcp);
out:
	free(uout);
	free(tout);
	return 0;
}
