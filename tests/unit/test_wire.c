/*
 * test_wire.c - the wire parser (names, queries, EDNS) and the compressing writer.
 */
#include "tests/unit/dnstest.h"

#include <string.h>

/* A packet: a zeroed header followed by body; returns the total length. */
static size_t packet(uint8_t *pkt, const void *body, size_t n)
{
	memset(pkt, 0, WIRE_HEADER_LEN);
	memcpy(pkt + WIRE_HEADER_LEN, body, n);
	return WIRE_HEADER_LEN + n;
}

#define PACKET(pkt, lit) packet(pkt, lit, sizeof(lit) - 1)

/* Reads the name at pos; returns wire_name_read's result. */
static int read_at(const uint8_t *pkt, size_t len, size_t pos, uint8_t *out, size_t *out_len,
		   size_t *end)
{
	size_t p = pos;
	int rc = wire_name_read(pkt, len, &p, out, out_len);
	if (end)
		*end = p;
	return rc;
}

/* ---- wire_name_read: bad input first ---- */

static void test_name_read_past_end(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t len = PACKET(pkt, "\3www\0");
	size_t out_len = 99, pos = len;

	assert_int_equal(wire_name_read(pkt, len, &pos, out, &out_len), -1);
	assert_int_equal(pos, len); /* untouched on error */
	assert_int_equal(out_len, 99);
	assert_int_equal(read_at(pkt, 0, 0, out, &out_len, NULL), -1);
}

static void test_name_read_truncated(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len;

	/* The label runs past the end; no root label; a pointer cut in half. */
	size_t len = PACKET(pkt, "\3ww");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	len = PACKET(pkt, "\3www");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	len = PACKET(pkt, "\3www\7exa");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	len = PACKET(pkt, "\3www\xc0");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
}

static void test_name_read_forward_pointer(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len;

	/* At 12 a pointer to 14, where a valid name sits: forward, refused. */
	size_t len = PACKET(pkt, "\xc0\x0e\3com\0");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	/* The same name read directly is fine (the test data is valid). */
	assert_int_equal(read_at(pkt, len, 14, out, &out_len, NULL), 0);
}

static void test_name_read_self_pointer(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len;
	size_t len = PACKET(pkt, "\xc0\x0c");

	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
}

static void test_name_read_loops(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len;

	/* "a" then a pointer back to the start of the name: before the pointer, still a loop. */
	size_t len = PACKET(pkt, "\1a\xc0\x0c");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);

	/* Two names pointing at each other: 20 -> 12 (backwards, fine), 12+2 -> 20. */
	len = PACKET(pkt, "\1a\xc0\x14\0\0\0\0\xc0\x0c");
	assert_int_equal(read_at(pkt, len, 20, out, &out_len, NULL), -1);

	/* A chain that jumps back twice and then forward again to a visited spot. */
	len = PACKET(pkt, "\1b\xc0\x10\1c\xc0\x0c");
	assert_int_equal(read_at(pkt, len, 16, out, &out_len, NULL), -1);
}

static void test_name_read_pointer_out_of_range(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len;

	size_t len = PACKET(pkt, "\xc3\xe8"); /* offset 1000 in a 14-octet packet */
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	len = PACKET(pkt, "\3www\xff\xff");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
}

static void test_name_read_label_types(void **state)
{
	(void)state;
	uint8_t pkt[128], out[WIRE_NAME_MAX];
	uint8_t body[80];
	size_t out_len;

	/* A 63-octet label is the longest; 64 (0x40) is an extended label type. */
	body[0] = 63;
	memset(body + 1, 'a', 63);
	body[64] = 0;
	size_t len = packet(pkt, body, 65);
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), 0);
	assert_int_equal(out_len, 65);

	body[0] = 64;
	body[65] = 0;
	len = packet(pkt, body, 66);
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);

	len = PACKET(pkt, "\x41\0"); /* 0x40: obsolete extended label */
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	len = PACKET(pkt, "\x81\0\0"); /* 0x80: reserved */
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
	len = PACKET(pkt, "\3www\x80\0"); /* a reserved type after a good label */
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);
}

/* Writes labels of the given lengths then the root; returns the octets written. */
static size_t long_name(uint8_t *p, const size_t *labels, size_t n, bool root)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		p[o] = (uint8_t)labels[i];
		memset(p + o + 1, 'a' + (int)i, labels[i]);
		o += labels[i] + 1;
	}
	if (root)
		p[o++] = 0;
	return o;
}

static void test_name_read_too_long(void **state)
{
	(void)state;
	uint8_t pkt[600], out[WIRE_NAME_MAX];
	uint8_t body[560];
	size_t out_len, end;

	/* 3 x 63 + 61: 255 octets with the root, the longest allowed. */
	size_t max[] = { 63, 63, 63, 61 };
	size_t n = long_name(body, max, 4, true);
	assert_int_equal(n, 255);
	size_t len = packet(pkt, body, n);
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, &end), 0);
	assert_int_equal(out_len, 255);
	assert_int_equal(end, len);
	assert_memory_equal(out, body, 255);

	/* One octet more. */
	size_t over[] = { 63, 63, 63, 62 };
	n = long_name(body, over, 4, true);
	len = packet(pkt, body, n);
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, NULL), -1);

	/* Too long only once a pointer is followed: 193 octets at 12, then 62 + pointer. */
	size_t three[] = { 63, 63, 63 };
	n = long_name(body, three, 3, true); /* 193 octets at 12..204 */
	size_t second = WIRE_HEADER_LEN + n;
	size_t m = long_name(body + n, (size_t[]){ 62 }, 1, false);
	body[n + m] = 0xc0;
	body[n + m + 1] = 12;
	len = packet(pkt, body, n + m + 2);
	assert_int_equal(read_at(pkt, len, second, out, &out_len, NULL), -1);

	/* With a 61-octet label it is exactly 255 and fine. */
	m = long_name(body + n, (size_t[]){ 61 }, 1, false);
	body[n + m] = 0xc0;
	body[n + m + 1] = 12;
	len = packet(pkt, body, n + m + 2);
	assert_int_equal(read_at(pkt, len, second, out, &out_len, &end), 0);
	assert_int_equal(out_len, 255);
	assert_int_equal(end, len);
}

/* ---- wire_name_read: behaviour ---- */

static void test_name_read_plain(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len, end;
	size_t len = PACKET(pkt, "\3WwW\7example\0\0\1");

	assert_int_equal(read_at(pkt, len, 12, out, &out_len, &end), 0);
	assert_int_equal(out_len, 13);
	assert_memory_equal(out, "\3WwW\7example", 13); /* letter case kept */
	assert_int_equal(end, 12 + 13);

	/* The root name is one octet. */
	len = PACKET(pkt, "\0");
	assert_int_equal(read_at(pkt, len, 12, out, &out_len, &end), 0);
	assert_int_equal(out_len, 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(end, 13);
}

static void test_name_read_backward_pointers(void **state)
{
	(void)state;
	uint8_t pkt[64], out[WIRE_NAME_MAX];
	size_t out_len, end;

	/* 12: "com", 17: "example" -> 12, 27: "www" -> 17. */
	size_t len = PACKET(pkt, "\3com\0"
				 "\7example\xc0\x0c"
				 "\3www\xc0\x11"
				 "\0\1\0\1");
	assert_int_equal(read_at(pkt, len, 27, out, &out_len, &end), 0);
	assert_int_equal(out_len, 17);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	assert_int_equal(end, 27 + 6); /* past the pointer, not past its target */

	/* A name that is nothing but a pointer. */
	len = PACKET(pkt, "\3com\0\xc0\x0c");
	assert_int_equal(read_at(pkt, len, 17, out, &out_len, &end), 0);
	assert_int_equal(out_len, 5);
	assert_memory_equal(out, "\3com", 5);
	assert_int_equal(end, 19);
}

/* ---- name helpers ---- */

static void test_name_len_and_labels(void **state)
{
	(void)state;
	assert_int_equal(wire_name_len((const uint8_t *)""), 1);
	assert_int_equal(wire_name_labels((const uint8_t *)""), 0);
	assert_int_equal(wire_name_len((const uint8_t *)"\3www\7example"), 13);
	assert_int_equal(wire_name_labels((const uint8_t *)"\3www\7example"), 2);
}

static void test_name_equal(void **state)
{
	(void)state;
	const uint8_t *www = (const uint8_t *)"\3www\7example";

	assert_true(wire_name_equal(www, www));
	assert_true(wire_name_equal(www, (const uint8_t *)"\3WwW\7EXAMPLE"));
	assert_false(wire_name_equal(www, (const uint8_t *)"\3www\7example\3com"));
	assert_false(wire_name_equal(www, (const uint8_t *)"\3wwx\7example"));
	assert_false(wire_name_equal(www, (const uint8_t *)"\7example"));
	/* Same letters, other label boundaries: "ab.c." vs "a.bc." */
	assert_false(wire_name_equal((const uint8_t *)"\2ab\1c", (const uint8_t *)"\1a\2bc"));
	/* Only ASCII letters fold: '@' is not '`', '[' is not '{'. */
	assert_false(wire_name_equal((const uint8_t *)"\1@", (const uint8_t *)"\1`"));
	assert_false(wire_name_equal((const uint8_t *)"\1[", (const uint8_t *)"\1{"));
	assert_true(wire_name_equal((const uint8_t *)"", (const uint8_t *)""));
}

static void test_name_lower(void **state)
{
	(void)state;
	uint8_t name[] = "\3WwW\4[@Z]\7ExAmPlE";
	wire_name_lower(name);
	assert_memory_equal(name, "\3www\4[@z]\7example", sizeof name);
}

static void test_name_is_subdomain(void **state)
{
	(void)state;
	uint8_t www[WIRE_NAME_MAX], ex[WIRE_NAME_MAX], root[1] = { 0 }, other[WIRE_NAME_MAX];
	size_t wl = dt_name("www.example.", www), el = dt_name("example.", ex);
	size_t ol = dt_name("notexample.", other);

	assert_true(wire_name_is_subdomain(www, wl, ex, el));
	assert_true(wire_name_is_subdomain(ex, el, ex, el));
	assert_true(wire_name_is_subdomain(www, wl, root, 1));
	assert_true(wire_name_is_subdomain(root, 1, root, 1));
	assert_false(wire_name_is_subdomain(ex, el, www, wl));
	assert_false(wire_name_is_subdomain(other, ol, ex, el));
	assert_false(wire_name_is_subdomain(root, 1, ex, el));

	/* The last octets of name equal origin, but not on a label boundary. */
	const uint8_t tricky[] = "\5ab\2cd"; /* one label "ab\002cd" */
	const uint8_t cd[] = "\2cd";
	assert_false(wire_name_is_subdomain(tricky, sizeof tricky, cd, sizeof cd));
}

static void to_str(const char *wire, size_t cap, char *out)
{
	wire_name_to_str((const uint8_t *)wire, out, cap);
}

static void test_name_to_str(void **state)
{
	(void)state;
	char s[128];

	to_str("", sizeof s, s);
	assert_string_equal(s, ".");
	to_str("\3WwW\7example", sizeof s, s);
	assert_string_equal(s, "WwW.example.");
	to_str("\3a.b\7example", sizeof s, s);
	assert_string_equal(s, "a\\.b.example.");
	to_str("\3a\\b", sizeof s, s);
	assert_string_equal(s, "a\\\\b.");
	to_str("\4 \x7f\xff\x01", sizeof s, s);
	assert_string_equal(s, "\\032\\127\\255\\001.");
	to_str("\5_-*~!", sizeof s, s);
	assert_string_equal(s, "_-*~!.");
}

static void test_name_to_str_truncates(void **state)
{
	(void)state;
	char s[64];
	const char *www = "\3www\7example"; /* "www.example." is 12 characters */

	/* cap 0 writes nothing at all. */
	memset(s, 'x', sizeof s);
	to_str(www, 0, s);
	assert_int_equal(s[0], 'x');

	/* Exactly enough room for the text and its terminator. */
	memset(s, 'x', sizeof s);
	to_str(www, 13, s);
	assert_string_equal(s, "www.example.");

	/* One short: a terminated prefix, nothing written past cap. */
	memset(s, 'x', sizeof s);
	to_str(www, 12, s);
	assert_string_equal(s, "www.example");
	assert_int_equal(s[12], 'x');

	memset(s, 'x', sizeof s);
	to_str(www, 5, s);
	assert_string_equal(s, "www.");
	assert_int_equal(s[5], 'x');

	to_str(www, 1, s);
	assert_string_equal(s, "");

	/* An escape is never cut in half. */
	to_str("\2a ", 4, s);
	assert_string_equal(s, "a");
	to_str("\2a ", 6, s);
	assert_string_equal(s, "a\\032");
}

/* ---- wire_query_parse: verdicts for bad packets first ---- */

/* A query for www.example. A with the given counts; body may follow the question. */
static size_t query(uint8_t *pkt, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		    uint16_t ar, const void *after, size_t after_len)
{
	static const uint8_t question[] = "\3WwW\7ExAmPlE\0\0\1\0\1";
	memset(pkt, 0, WIRE_HEADER_LEN);
	wire_put16(pkt, 0xbeef);
	wire_put16(pkt + 2, flags);
	wire_put16(pkt + 4, qd);
	wire_put16(pkt + 6, an);
	wire_put16(pkt + 8, ns);
	wire_put16(pkt + 10, ar);
	memcpy(pkt + WIRE_HEADER_LEN, question, sizeof question - 1);
	size_t len = WIRE_HEADER_LEN + sizeof question - 1;
	if (after_len)
		memcpy(pkt + len, after, after_len);
	return len + after_len;
}

#define QEND (WIRE_HEADER_LEN + 17) /* the question of query() ends here */

static void test_parse_short(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;

	query(pkt, WIRE_FLAG_RD, 1, 0, 0, 0, NULL, 0);
	assert_int_equal(wire_query_parse(pkt, 0, &q), WIRE_QUERY_DROP);
	assert_int_equal(wire_query_parse(pkt, 11, &q), WIRE_QUERY_DROP);
	/* A bare header is long enough to answer (FORMERR), not to drop. */
	wire_put16(pkt + 4, 0);
	assert_int_equal(wire_query_parse(pkt, 12, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, 0);
}

static void test_parse_response_dropped(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;
	size_t len = query(pkt, WIRE_FLAG_QR | WIRE_FLAG_AA, 1, 0, 0, 0, NULL, 0);

	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_DROP);
}

static void test_parse_qdcount(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;

	size_t len = query(pkt, 0, 0, 0, 0, 0, NULL, 0);
	assert_int_equal(wire_query_parse(pkt, WIRE_HEADER_LEN, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, 0);

	/* Two questions, each well formed. */
	len = query(pkt, 0, 2, 0, 0, 0, "\3ftp\7example\0\0\1\0\1", 17);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);

	/* qdcount 1 and the question does not parse: nothing to echo. */
	len = query(pkt, 0, 1, 0, 0, 0, NULL, 0);
	assert_int_equal(wire_query_parse(pkt, len - 2, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, 0);
	pkt[WIRE_HEADER_LEN] = 0x40;
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, 0);
}

static void test_parse_ancount(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;
	static const uint8_t rr[] = "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\xc0\0\2\1";
	size_t len = query(pkt, 0, 1, 1, 0, 0, rr, sizeof rr - 1);

	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, QEND);
	/* The same record in the additional section is allowed. */
	wire_put16(pkt + 6, 0);
	wire_put16(pkt + 10, 1);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
}

static void test_parse_nscount(void **state)
{
	(void)state;
	uint8_t pkt[96];
	struct wire_query q;
	/* A client SOA in the authority section: only IXFR carries one. */
	static const uint8_t soa[] = "\xc0\x0c\0\6\0\1\0\0\0\x3c\0\x16"
				     "\0\0\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1\0\0\0\1";
	size_t len = query(pkt, 0, 1, 0, 1, 0, soa, sizeof soa - 1);

	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	wire_put16(pkt + QEND - 4, DNS_TYPE_IXFR);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
	assert_int_equal(q.qtype, DNS_TYPE_IXFR);
	wire_put16(pkt + 8, 2);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
}

static void test_parse_trailing_garbage(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;
	size_t len = query(pkt, 0, 1, 0, 0, 0, "\0", 1);

	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, QEND);
	assert_int_equal(wire_query_parse(pkt, len - 1, &q), WIRE_QUERY_OK);
	/* arcount says one record, none is there. */
	wire_put16(pkt + 10, 1);
	assert_int_equal(wire_query_parse(pkt, len - 1, &q), WIRE_QUERY_FORMERR);
}

static void test_parse_opcode(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;

	for (unsigned op = 1; op < 16; op++) {
		size_t len = query(pkt, (uint16_t)(op << 11), 1, 0, 0, 0, NULL, 0);
		assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_NOTIMP);
		assert_int_equal(q.question_end, QEND);
		assert_int_equal(WIRE_OPCODE(q.flags), op);
	}
	/* NOTIFY without a question is still "not implemented", not malformed. */
	query(pkt, 4 << 11, 0, 0, 0, 0, NULL, 0);
	assert_int_equal(wire_query_parse(pkt, WIRE_HEADER_LEN, &q), WIRE_QUERY_NOTIMP);
}

/* ---- wire_query_parse: good queries ---- */

static void test_parse_ok(void **state)
{
	(void)state;
	uint8_t pkt[64];
	struct wire_query q;
	size_t len = query(pkt, WIRE_FLAG_RD | WIRE_FLAG_CD, 1, 0, 0, 0, NULL, 0);

	wire_put16(pkt + QEND - 4, DNS_TYPE_AAAA);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
	assert_int_equal(q.id, 0xbeef);
	assert_int_equal(q.flags, WIRE_FLAG_RD | WIRE_FLAG_CD);
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.question_end, QEND);
	assert_int_equal(q.qname_len, 13);
	assert_memory_equal(q.qname, "\3www\7example", 13); /* lower-cased */
	assert_false(q.edns);
	/* The packet itself is left as sent. */
	assert_memory_equal(pkt + WIRE_HEADER_LEN, "\3WwW\7ExAmPlE", 13);
}

/* An OPT record: owner, udp size, ext rcode, version, flags high byte, rdata. */
static size_t opt(uint8_t *p, const void *owner, size_t owner_len, uint16_t udp, uint8_t version,
		  bool dnssec_ok, const void *rdata, uint16_t rdlen)
{
	memcpy(p, owner, owner_len);
	uint8_t *f = p + owner_len;
	wire_put16(f, DNS_TYPE_OPT);
	wire_put16(f + 2, udp);
	f[4] = 0;
	f[5] = version;
	f[6] = dnssec_ok ? 0x80 : 0;
	f[7] = 0;
	wire_put16(f + 8, rdlen);
	if (rdlen)
		memcpy(f + 10, rdata, rdlen);
	return owner_len + 10 + rdlen;
}

static void test_parse_edns(void **state)
{
	(void)state;
	uint8_t pkt[128], o[64];
	struct wire_query q;

	size_t n = opt(o, "", 1, 4096, 0, true, NULL, 0);
	size_t len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
	assert_true(q.edns);
	assert_int_equal(q.edns_udp_size, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_true(q.edns_do);

	n = opt(o, "", 1, 1232, 1, false, NULL, 0);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
	assert_true(q.edns);
	assert_int_equal(q.edns_udp_size, 1232);
	assert_int_equal(q.edns_version, 1);
	assert_false(q.edns_do);

	/* Options that tile the rdata exactly: a client cookie and an empty option. */
	n = opt(o, "", 1, 512, 0, false, "\0\x0a\0\x08" "abcdefgh" "\0\x0c\0\0", 16);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
	assert_int_equal(q.edns_udp_size, 512);
}

static void test_parse_edns_compressed_owner(void **state)
{
	(void)state;
	uint8_t pkt[128], o[64];
	struct wire_query q;

	/* The OPT owner as a pointer to the root label that ends the qname. */
	uint8_t ptr[2] = { 0xc0, (uint8_t)(QEND - 5) };
	size_t n = opt(o, ptr, 2, 4096, 0, true, NULL, 0);
	size_t len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(pkt[QEND - 5], 0);
	enum wire_verdict v = wire_query_parse(pkt, len, &q);
	/* Either refuse it, or read its fields from where they are. */
	if (v == WIRE_QUERY_OK) {
		assert_true(q.edns);
		assert_int_equal(q.edns_udp_size, 4096);
		assert_int_equal(q.edns_version, 0);
		assert_true(q.edns_do);
	} else {
		assert_int_equal(v, WIRE_QUERY_FORMERR);
	}
}

static void test_parse_edns_bad(void **state)
{
	(void)state;
	uint8_t pkt[128], o[96];
	struct wire_query q;

	/* Two OPT records. */
	size_t n = opt(o, "", 1, 4096, 0, false, NULL, 0);
	n += opt(o + n, "", 1, 4096, 0, false, NULL, 0);
	size_t len = query(pkt, 0, 1, 0, 0, 2, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(q.question_end, QEND);

	/* An OPT owned by a name other than the root. */
	n = opt(o, "\xc0\x0c", 2, 4096, 0, false, NULL, 0);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	n = opt(o, "\3www\0", 5, 4096, 0, false, NULL, 0);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);

	/* Options that do not tile the rdata: a half header, a length past the end. */
	n = opt(o, "", 1, 4096, 0, false, "\0\x0a\0", 3);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	n = opt(o, "", 1, 4096, 0, false, "\0\x0a\0\x08" "abcd", 8);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);
	n = opt(o, "", 1, 4096, 0, false, "\0\x0a\0\x02" "ab" "\0", 7);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_FORMERR);

	/* The OPT's rdlength runs past the packet. */
	n = opt(o, "", 1, 4096, 0, false, "\0\x0a\0\x08" "abcdefgh", 12);
	len = query(pkt, 0, 1, 0, 0, 1, o, n);
	assert_int_equal(wire_query_parse(pkt, len - 1, &q), WIRE_QUERY_FORMERR);
	assert_int_equal(wire_query_parse(pkt, len, &q), WIRE_QUERY_OK);
}

/* ---- the writer: bad input first ---- */

static void test_writer_limit(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct wire_writer w;

	memset(buf, 0xaa, sizeof buf);
	wire_writer_init(&w, buf, 16);
	assert_int_equal(wire_write_bytes(&w, "0123456789", 10), 0);
	assert_int_equal(wire_write_bytes(&w, "0123456", 7), -1);
	assert_int_equal(w.len, 10);
	assert_int_equal(buf[10], 0xaa);
	assert_int_equal(wire_write_bytes(&w, "012345", 6), 0);
	assert_int_equal(w.len, 16);
	assert_int_equal(buf[16], 0xaa);

	/* A name that does not fit leaves nothing behind, not even a target. */
	wire_writer_init(&w, buf, 20);
	w.len = 12;
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), -1);
	assert_int_equal(w.len, 12);
	assert_int_equal(w.ncomp, 0);

	/* Same for a record. */
	wire_writer_init(&w, buf, 30);
	w.len = 12;
	assert_int_equal(wire_write_rr(&w, (const uint8_t *)"\3www\7example", DNS_TYPE_A, 60,
				       (const uint8_t *)"\xc0\0\2\1", 4),
			 -1);
	assert_int_equal(w.len, 12);
	assert_int_equal(w.ncomp, 0);
	wire_writer_init(&w, buf, 22);
	w.len = 12;
	assert_int_equal(wire_write_opt(&w, 1232, 0, false), -1);
	assert_int_equal(w.len, 12);
}

/* ---- the writer: behaviour ---- */

static void test_writer_compresses(void **state)
{
	(void)state;
	uint8_t buf[128] = { 0 };
	struct wire_writer w;

	wire_writer_init(&w, buf, sizeof buf);
	w.len = WIRE_HEADER_LEN;
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), 0);
	assert_int_equal(w.len, 12 + 13);
	/* "example." sits at 16: the second name is a label and a pointer to it. */
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\4mail\7EXAMPLE"), 0);
	assert_int_equal(w.len, 25 + 7);
	assert_memory_equal(buf + 25, "\4mail\xc0\x10", 7);
	/* The whole name again, in another case: just a pointer to 12. */
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3WWW\7Example"), 0);
	assert_memory_equal(buf + 32, "\xc0\x0c", 2);
	/* A suffix of the second name: points into it. */
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\4MAIL\7example"), 0);
	assert_memory_equal(buf + 34, "\xc0\x19", 2);
	/* Nothing in common: written in full; the root is never a pointer. */
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3net"), 0);
	assert_memory_equal(buf + 36, "\3net\0", 5);
	assert_int_equal(wire_write_name(&w, (const uint8_t *)""), 0);
	assert_int_equal(buf[41], 0);
	assert_int_equal(w.len, 42);
}

static void test_writer_remember(void **state)
{
	(void)state;
	uint8_t buf[128] = { 0 };
	struct wire_writer w;
	const uint8_t *q = (const uint8_t *)"\3WwW\7ExAmPlE";

	/* A question copied in by hand, then registered as a target. */
	wire_writer_init(&w, buf, sizeof buf);
	memcpy(buf + 12, q, 13);
	w.len = 25;
	wire_writer_remember(&w, (const uint8_t *)"\3www\7example", 12);
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), 0);
	assert_memory_equal(buf + 25, "\xc0\x0c", 2);
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\2ns\7example"), 0);
	assert_memory_equal(buf + 27, "\2ns\xc0\x10", 5);
}

static void test_writer_rr_rdata(void **state)
{
	(void)state;
	uint8_t buf[256] = { 0 };
	struct wire_writer w;
	const uint8_t *owner = (const uint8_t *)"\3www\7example";

	wire_writer_init(&w, buf, sizeof buf);
	w.len = WIRE_HEADER_LEN;
	assert_int_equal(wire_write_rr(&w, owner, DNS_TYPE_A, 0x01020304,
				       (const uint8_t *)"\xc0\0\2\1", 4),
			 0);
	assert_memory_equal(buf + 12, "\3www\7example\0\0\1\0\1\1\2\3\4\0\4\xc0\0\2\1", 27);
	size_t at = w.len;

	/* CNAME rdata that equals an earlier name is a pointer: rdlength 2. */
	assert_int_equal(wire_write_rr(&w, (const uint8_t *)"\3ftp\7example", DNS_TYPE_CNAME, 60,
				       owner, 13),
			 0);
	assert_memory_equal(buf + at, "\3ftp\xc0\x10\0\5\0\1\0\0\0\x3c\0\2\xc0\x0c", 18);
	at = w.len;

	/* MX: the preference as is, the exchange compressed. */
	assert_int_equal(wire_write_rr(&w, owner, DNS_TYPE_MX, 60,
				       (const uint8_t *)"\0\x0a\4mail\7example", 16),
			 0);
	assert_memory_equal(buf + at, "\xc0\x0c\0\x0f\0\1\0\0\0\x3c\0\x09\0\x0a\4mail\xc0\x10",
			    21);
	at = w.len;

	/* SRV (RFC 2782, RFC 3597): the target is never compressed. */
	static const uint8_t srv[] = "\0\1\0\2\0\3\3www\7example";
	assert_int_equal(wire_write_rr(&w, owner, DNS_TYPE_SRV, 60, srv, sizeof srv), 0);
	assert_int_equal(wire_get16(buf + at + 10), sizeof srv);
	assert_memory_equal(buf + at + 12, srv, sizeof srv);
	at = w.len;

	/* SOA: both names compressed, then the 20 octets of numbers. */
	static const uint8_t soa[] = "\3ns1\7example\0\12hostmaster\7example\0"
				     "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5";
	assert_int_equal(wire_write_rr(&w, owner, DNS_TYPE_SOA, 60, soa, sizeof soa - 1), 0);
	assert_int_equal(wire_get16(buf + at + 10), 6 + 13 + 20);
	assert_memory_equal(buf + at + 12, "\3ns1\xc0\x10\12hostmaster\xc0\x10", 19);
	assert_memory_equal(buf + at + 31, soa + 33, 20);

	/* And ldns reads it all back as the same names. */
	wire_put16(buf + 6, 5);
	ldns_pkt *pkt = dt_parse(buf, w.len);
	assert_non_null(dt_find(pkt, LDNS_SECTION_ANSWER, "www.example. A 192.0.2.1"));
	assert_non_null(dt_find(pkt, LDNS_SECTION_ANSWER, "ftp.example. CNAME www.example."));
	assert_non_null(dt_find(pkt, LDNS_SECTION_ANSWER, "www.example. MX 10 mail.example."));
	assert_non_null(dt_find(pkt, LDNS_SECTION_ANSWER, "www.example. SRV 1 2 3 www.example."));
	assert_non_null(dt_find(pkt, LDNS_SECTION_ANSWER,
				"www.example. SOA ns1.example. hostmaster.example. 1 2 3 4 5"));
	ldns_pkt_free(pkt);
}

static void test_writer_rewind(void **state)
{
	(void)state;
	uint8_t buf[128] = { 0 };
	struct wire_writer w;

	wire_writer_init(&w, buf, sizeof buf);
	w.len = WIRE_HEADER_LEN;
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), 0);
	wire_writer_rewind(&w, WIRE_HEADER_LEN);
	assert_int_equal(w.len, WIRE_HEADER_LEN);
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3ftp\3net"), 0);
	/* The forgotten www.example. must not be pointed at: 12 holds ftp.net. now. */
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), 0);
	assert_memory_equal(buf + 12 + 9, "\3www\7example\0", 13);
	/* Rewinding forward is a no-op. */
	wire_writer_rewind(&w, 100);
	assert_int_equal(w.len, 12 + 9 + 13);
}

static void test_writer_far_offsets(void **state)
{
	(void)state;
	static uint8_t buf[0x5000];
	struct wire_writer w;

	/* Pointers reach 0x3fff at most: names written beyond are not targets. */
	wire_writer_init(&w, buf, sizeof buf);
	w.len = 0x4000;
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), 0);
	assert_int_equal(wire_write_name(&w, (const uint8_t *)"\3www\7example"), 0);
	assert_int_equal(w.len, 0x4000 + 26);
	assert_memory_equal(buf + 0x4000 + 13, "\3www\7example\0", 13);
}

static void test_writer_opt(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct wire_writer w;

	wire_writer_init(&w, buf, sizeof buf);
	assert_int_equal(wire_write_opt(&w, 1232, 1, true), 0);
	assert_int_equal(w.len, 11);
	assert_memory_equal(buf, "\0\0\x29\x04\xd0\1\0\x80\0\0\0", 11);
	assert_int_equal(wire_write_opt(&w, 512, 0, false), 0);
	assert_memory_equal(buf + 11, "\0\0\x29\x02\0\0\0\0\0\0\0", 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_read_past_end),
		cmocka_unit_test(test_name_read_truncated),
		cmocka_unit_test(test_name_read_forward_pointer),
		cmocka_unit_test(test_name_read_self_pointer),
		cmocka_unit_test(test_name_read_loops),
		cmocka_unit_test(test_name_read_pointer_out_of_range),
		cmocka_unit_test(test_name_read_label_types),
		cmocka_unit_test(test_name_read_too_long),
		cmocka_unit_test(test_name_read_plain),
		cmocka_unit_test(test_name_read_backward_pointers),
		cmocka_unit_test(test_name_len_and_labels),
		cmocka_unit_test(test_name_equal),
		cmocka_unit_test(test_name_lower),
		cmocka_unit_test(test_name_is_subdomain),
		cmocka_unit_test(test_name_to_str),
		cmocka_unit_test(test_name_to_str_truncates),
		cmocka_unit_test(test_parse_short),
		cmocka_unit_test(test_parse_response_dropped),
		cmocka_unit_test(test_parse_qdcount),
		cmocka_unit_test(test_parse_ancount),
		cmocka_unit_test(test_parse_nscount),
		cmocka_unit_test(test_parse_trailing_garbage),
		cmocka_unit_test(test_parse_opcode),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_edns),
		cmocka_unit_test(test_parse_edns_compressed_owner),
		cmocka_unit_test(test_parse_edns_bad),
		cmocka_unit_test(test_writer_limit),
		cmocka_unit_test(test_writer_compresses),
		cmocka_unit_test(test_writer_remember),
		cmocka_unit_test(test_writer_rr_rdata),
		cmocka_unit_test(test_writer_rewind),
		cmocka_unit_test(test_writer_far_offsets),
		cmocka_unit_test(test_writer_opt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
