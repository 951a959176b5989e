/*
 * test_zone.c - zone versions from master files and from the builder, and
 * the zone set (versions by serial, the served one, closest-encloser match).
 */
#include "tests/unit/dnstest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The node of a name (presentation form, any case) or ZONE_NODE_NONE. */
static uint32_t find(const struct zone_version *v, const char *name)
{
	uint8_t w[WIRE_NAME_MAX];
	size_t len = dt_name(name, w);
	wire_name_lower(w);
	return zone_find(v, w, len);
}

/* The RRset of a type at a name; fails the test if there is none. */
static struct zone_rrset rrset(const struct zone_version *v, const char *name, uint16_t type)
{
	struct zone_rrset rs;
	uint32_t n = find(v, name);
	if (n == ZONE_NODE_NONE)
		fail_msg("no node %s", name);
	if (!zone_node_rrset(v, n, type, &rs))
		fail_msg("no RRset of type %u at %s", type, name);
	return rs;
}

/* The first rdata entry of an RRset. */
static const uint8_t *first_rdata(const struct zone_rrset *rs, uint16_t *len)
{
	const uint8_t *rd;
	zone_rdata_next(rs->rdata, &rd, len);
	return rd;
}

/*
 * Loads a data file that must be refused, and checks the message is
 * "PATH:LINE: ..." with one of the lines given (0 ends the list; none given
 * means the message carries no line) and contains reason.
 */
static void expect_refused(const char *file, const char *reason, unsigned line, unsigned alt)
{
	char path[4096], err[1024] = "", prefix[4200], prefix2[4200];

	snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, file);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	if (v) {
		zone_version_unref(v);
		fail_msg("%s loaded; it should have been refused (%s)", file, reason);
	}
	if (line)
		snprintf(prefix, sizeof prefix, "%s:%u: ", path, line);
	else
		snprintf(prefix, sizeof prefix, "%s: ", path);
	snprintf(prefix2, sizeof prefix2, "%s:%u: ", path, alt ? alt : line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 &&
	    strncmp(err, prefix2, strlen(prefix2)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	if (!strstr(err, reason))
		fail_msg("message '%s' does not say '%s'", err, reason);
}

/* ---- bad parameters and bad files first ---- */

static void test_null_is_noop(void **state)
{
	(void)state;
	zone_version_unref(NULL);
	zone_builder_destroy(NULL);
	zone_set_destroy(NULL);
}

static void test_load_missing_file(void **state)
{
	(void)state;
	char err[1024] = "";
	const char *path = TEST_DATA_DIR "/no-such-file.zone";

	assert_null(zone_version_load(path, NULL, err, sizeof err));
	assert_true(strncmp(err, path, strlen(path)) == 0);
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, "No such file"));
	/* No room for a message is fine too. */
	assert_null(zone_version_load(path, NULL, NULL, 0));
	assert_null(zone_version_load(DT_DATA("bad-syntax.zone"), NULL, NULL, 0));
}

static void test_load_bad_origin(void **state)
{
	(void)state;
	char err[1024] = "";

	assert_null(zone_version_load(DT_DATA("relative.zone"), "a..b.", err, sizeof err));
	assert_non_null(strstr(err, "relative.zone: bad origin 'a..b.'"));
}

static void test_load_syntax_error(void **state)
{
	(void)state;
	/* A comment and a blank line before the bad record, a good record after. */
	expect_refused("bad-syntax.zone", "Syntax error", 7, 0);
	/* Blank lines after the bad record do not move the line. */
	expect_refused("bad-syntax-blank.zone", "Syntax error", 3, 0);
	/* The last line, without a newline. */
	expect_refused("bad-no-newline.zone", "Syntax error", 3, 0);
	/* Indented comment and blank lines, then an error in a record for the same owner. */
	expect_refused("bad-indented.zone", "Syntax error", 7, 0);
	/* CRLF line ends. */
	expect_refused("bad-crlf.zone", "Syntax error", 6, 0);
	/* A record over lines 7-8: either of its lines, nothing else. */
	expect_refused("bad-multiline.zone", "Syntax error", 7, 8);
}

static void test_load_soa_first(void **state)
{
	(void)state;
	expect_refused("bad-first-not-soa.zone", "the first record must be the zone's SOA", 3, 0);
	expect_refused("bad-no-soa.zone", "the first record must be the zone's SOA", 3, 0);
	expect_refused("bad-empty.zone", "no records", 0, 0);
}

static void test_load_out_of_zone(void **state)
{
	(void)state;
	expect_refused("bad-out-of-zone.zone",
		       "record for www.example.net. is outside the zone example.", 5, 0);
}

static void test_load_cname_rules(void **state)
{
	(void)state;
	/* The line of the first record at the name. */
	expect_refused("bad-cname-other.zone", "www.example. has a CNAME and other data", 5, 0);
	/* The line of the second CNAME, whatever the order of their targets. */
	expect_refused("bad-two-cnames.zone", "www.example. has more than one CNAME record", 6, 0);
}

static void test_load_soa_not_at_apex(void **state)
{
	(void)state;
	/* The SOA's own line, not the line of the name's first record. */
	expect_refused("bad-soa-not-apex.zone",
		       "SOA record for sub.example. is not at the zone apex", 6, 0);
}

static void test_load_include_and_class(void **state)
{
	(void)state;
	expect_refused("bad-include.zone", "$INCLUDE is not supported", 3, 0);
	expect_refused("bad-class.zone", "class 3 is not IN", 3, 0);
	expect_refused("bad-no-origin.zone", "the zone's origin came out as the root", 3, 0);
}

/* ---- loading: behaviour ---- */

/*
 * Ends the test if a load hangs: the refusals below were hangs before (open()
 * of a FIFO waits for a writer, /dev/zero never ends).
 */
static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_zone: a zone load hung (SIGALRM)\n";
	if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
		_exit(2);
	_exit(1);
}

/* Loads path, which must be refused quickly with a message "PATH: ...reason...". */
static void expect_refused_path(const char *path, const char *reason)
{
	char err[1024] = "";
	signal(SIGALRM, on_alarm);
	alarm(30);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	alarm(0);
	if (v) {
		zone_version_unref(v);
		fail_msg("%s loaded; it should have been refused (%s)", path, reason);
	}
	if (strncmp(err, path, strlen(path)) != 0 || strncmp(err + strlen(path), ": ", 2) != 0)
		fail_msg("message '%s' does not start with '%s: '", err, path);
	if (!strstr(err, reason))
		fail_msg("message '%s' does not say '%s'", err, reason);
}

static void test_load_not_regular(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_zone-XXXXXX", fifo[64], big[64], link[64];

	assert_non_null(mkdtemp(dir));
	/* A FIFO with no writer: open() alone blocked forever. */
	snprintf(fifo, sizeof fifo, "%s/fifo.zone", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_refused_path(fifo, "a FIFO, not a regular file");
	/* A device that never ends. */
	expect_refused_path("/dev/zero", "a character device, not a regular file");
	expect_refused_path(TEST_DATA_DIR, "a directory, not a regular file");
	/* Over the bound, refused before reading (a sparse file: no disk used). */
	snprintf(big, sizeof big, "%s/big.zone", dir);
	int fd = open(big, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)ZONE_FILE_MAX + 1), 0);
	close(fd);
	expect_refused_path(big, "a zone file is at most 1024 MiB");
	/* A symbolic link to a zone file is followed; one to a FIFO is refused. */
	snprintf(link, sizeof link, "%s/link.zone", dir);
	assert_int_equal(symlink(TEST_DATA_DIR "/example.zone", link), 0);
	struct zone_version *v = zone_version_load(link, NULL, NULL, 0);
	assert_non_null(v);
	zone_version_unref(v);
	unlink(link);
	assert_int_equal(symlink(fifo, link), 0);
	expect_refused_path(link, "a FIFO, not a regular file");
	unlink(link);
	unlink(big);
	unlink(fifo);
	rmdir(dir);
}

static void test_load_ttl_range(void **state)
{
	(void)state;
	const char *why = "TTL above 2147483647";

	/* 99999999999 was served as 1215752191 (its low 32 bits). */
	expect_refused("bad-ttl-wrap.zone", why, 5, 0);
	expect_refused("bad-ttl-2pow31.zone", why, 3, 0);
	expect_refused("bad-ttl-dollar.zone", why, 2, 0);
	expect_refused("bad-ttl-units.zone", why, 3, 0);
	/* 2^31 - 1 itself is a TTL, written plain, as $TTL or with units. */
	struct zone_version *v = zone_version_load(DT_DATA("ttl-max.zone"), NULL, NULL, 0);
	assert_non_null(v);
	assert_int_equal(rrset(v, "example.", DNS_TYPE_SOA).ttl, 2147483647u);
	assert_int_equal(rrset(v, "www.example.", DNS_TYPE_A).ttl, 2147483647u);
	assert_int_equal(rrset(v, "old.example.", DNS_TYPE_A).ttl, 3550u * 604800u);
	zone_version_unref(v);
}

static void test_load_nul_byte(void **state)
{
	(void)state;
	/* ldns dropped the NUL: "ww\0w" was loaded as www.example. */
	expect_refused("bad-nul-owner.zone", "a NUL byte", 3, 0);
}

static void test_load_good(void **state)
{
	(void)state;
	struct zone_version *v = dt_load("example.zone");
	size_t olen;
	uint16_t len;

	assert_int_equal(zone_version_serial(v), 2024010101);
	assert_memory_equal(zone_version_origin(v, &olen), "\7example", 9);
	assert_int_equal(olen, 9);
	assert_string_equal(zone_version_source(v), DT_DATA("example.zone"));
	/* 37 records in the file, one of them a duplicate. */
	assert_int_equal(zone_version_record_count(v), 36);
	/* 24 owner names, the apex included, and 3 empty non-terminals. */
	assert_int_equal(zone_version_node_count(v), 27);

	/* The SOA spread over six lines with comments, relative names completed. */
	struct zone_rrset soa = zone_version_soa(v);
	assert_int_equal(soa.type, DNS_TYPE_SOA);
	assert_int_equal(soa.count, 1);
	assert_int_equal(soa.ttl, 3600);
	const uint8_t *rd = first_rdata(&soa, &len);
	static const uint8_t soa_rd[] = "\3ns1\7example\0\12hostmaster\7example\0"
					"\x78\xa3\xf1\x75"  /* 2024010101 */
					"\0\0\x1c\x20"      /* 7200 */
					"\0\0\x0e\x10"      /* 3600 */
					"\0\x12\x75\0"      /* 1209600 */
					"\0\0\2\x58";       /* 600 */
	assert_int_equal(len, sizeof soa_rd - 1);
	assert_memory_equal(rd, soa_rd, sizeof soa_rd - 1);

	/* Apex RRsets, sorted by type: NS, SOA, MX, TXT, CAA. */
	uint32_t apex = find(v, "example.");
	assert_int_not_equal(apex, ZONE_NODE_NONE);
	assert_int_equal(zone_node_rrset_count(v, apex), 5);
	static const uint16_t types[] = { DNS_TYPE_NS, DNS_TYPE_SOA, DNS_TYPE_MX, DNS_TYPE_TXT,
					  257 };
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(zone_node_rrset_at(v, apex, i).type, types[i]);
	assert_int_equal(zone_node_rrset_at(v, apex, 0).count, 2);

	/* Blank owners continue the previous name; $TTL applies. */
	struct zone_rrset rs = rrset(v, "ns2.example.", DNS_TYPE_AAAA);
	assert_int_equal(rs.ttl, 3600);
	rd = first_rdata(&rs, &len);
	assert_int_equal(len, 16);
	assert_memory_equal(rd, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x54", 16);
	rs = rrset(v, "ns2.example.", DNS_TYPE_A);
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\xc0\0\2\x36", 4);

	/* The duplicate www A is gone. */
	rs = rrset(v, "www.example.", DNS_TYPE_A);
	assert_int_equal(rs.count, 1);
	/* Different TTLs in one RRset: the lowest. */
	rs = rrset(v, "ttl.example.", DNS_TYPE_A);
	assert_int_equal(rs.count, 2);
	assert_int_equal(rs.ttl, 60);

	/* rdata keeps its letter case; names in rdata are complete and uncompressed. */
	rs = rrset(v, "c2.example.", DNS_TYPE_CNAME);
	rd = first_rdata(&rs, &len);
	assert_int_equal(len, 12);
	assert_memory_equal(rd, "\2C3\7Example", 12);
	rs = rrset(v, "example.", DNS_TYPE_MX);
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\0\x0a\4mail\7example", 16);
	rs = rrset(v, "_sip._udp.example.", DNS_TYPE_SRV);
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\0\x0a\0\x3c\x13\xc4\3sip\7example", 19);
	rs = rrset(v, "ptr.example.", DNS_TYPE_PTR);
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\3www\7example", 13);
	rs = rrset(v, "example.", DNS_TYPE_TXT);
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\13v=spf1 -all", 12);

	/* Types with no special meaning are kept as ldns wrote them. */
	rs = rrset(v, "example.", 257); /* CAA */
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\0\5issue" "ca.example.net", 21);
	rs = rrset(v, "host.example.", 13); /* HINFO */
	rd = first_rdata(&rs, &len);
	assert_memory_equal(rd, "\2PC\5Linux", 9);
	rs = rrset(v, "host.example.", 44); /* SSHFP */
	rd = first_rdata(&rs, &len);
	assert_int_equal(len, 22);
	assert_memory_equal(rd, "\1\1\1\x23\x45\x67", 6);
	rs = rrset(v, "signed.example.", DNS_TYPE_DS);
	assert_int_equal(rs.count, 1);
	zone_version_unref(v);
}

static void test_load_empty_nonterminals(void **state)
{
	(void)state;
	struct zone_version *v = dt_load("example.zone");

	/* a.b.c.example. has data; b.c. and c. exist as empty names; _udp. too. */
	uint32_t n = find(v, "a.b.c.example.");
	assert_int_not_equal(n, ZONE_NODE_NONE);
	assert_int_equal(zone_node_rrset_count(v, n), 1);
	static const char *const ents[] = { "b.c.example.", "c.example.", "_udp.example.", NULL };
	for (const char *const *p = ents; *p; p++) {
		n = find(v, *p);
		assert_int_not_equal(n, ZONE_NODE_NONE);
		assert_int_equal(zone_node_rrset_count(v, n), 0);
		uint8_t name[WIRE_NAME_MAX];
		size_t len = dt_name(*p, name);
		assert_memory_equal(zone_node_name(v, n), name, len);
	}
	assert_int_equal(find(v, "d.example."), ZONE_NODE_NONE);
	assert_int_equal(find(v, "x.a.b.c.example."), ZONE_NODE_NONE);
	/* Lookups are by lower-case name. */
	assert_int_not_equal(find(v, "WWW.EXAMPLE."), ZONE_NODE_NONE);
	zone_version_unref(v);
}

static void test_load_node_flags(void **state)
{
	(void)state;
	struct zone_version *v = dt_load("example.zone");

	assert_int_equal(zone_node_flags(v, find(v, "example.")), ZONE_NODE_APEX);
	assert_int_equal(zone_node_flags(v, find(v, "www.example.")), 0);
	assert_int_equal(zone_node_flags(v, find(v, "deleg.example.")), ZONE_NODE_DELEG);
	assert_int_equal(zone_node_flags(v, find(v, "signed.example.")), ZONE_NODE_DELEG);
	assert_int_equal(zone_node_flags(v, find(v, "ns.deleg.example.")), ZONE_NODE_OCCLUDED);
	zone_version_unref(v);

	v = dt_load("wild.zone");
	assert_int_equal(zone_node_flags(v, find(v, "example.")),
			 ZONE_NODE_APEX | ZONE_NODE_WILDPARENT);
	assert_int_equal(zone_node_flags(v, find(v, "cn.example.")), ZONE_NODE_WILDPARENT);
	assert_int_equal(zone_node_flags(v, find(v, "*.example.")), 0);
	zone_version_unref(v);
}

static void test_load_origin_argument(void **state)
{
	(void)state;
	char err[1024] = "";
	struct zone_version *v = zone_version_load(DT_DATA("relative.zone"), "Example.", err,
						   sizeof err);
	if (!v)
		fail_msg("%s", err);
	size_t olen;
	assert_memory_equal(zone_version_origin(v, &olen), "\7example", 9);
	assert_int_equal(zone_version_serial(v), 42);
	assert_int_equal(zone_version_record_count(v), 3);
	assert_int_not_equal(find(v, "ns1.example."), ZONE_NODE_NONE);
	zone_version_unref(v);
}

/* ---- the builder: bad records first ---- */

/* SOA rdata for example.: ns1.example. hostmaster.example. serial 7200 3600 1209600 600. */
static size_t soa_rdata(uint8_t *rd, uint32_t serial)
{
	static const uint8_t names[] = "\3ns1\7example\0\12hostmaster\7example";
	memcpy(rd, names, sizeof names);
	uint8_t *p = rd + sizeof names;
	wire_put32(p, serial);
	wire_put32(p + 4, 7200);
	wire_put32(p + 8, 3600);
	wire_put32(p + 12, 1209600);
	wire_put32(p + 16, 600);
	return sizeof names + 20;
}

static const uint8_t EXAMPLE[] = "\7example";

static void test_builder_rejects_out_of_zone(void **state)
{
	(void)state;
	char err[256] = "";
	struct zone_builder *b = zone_builder_create(EXAMPLE, "unit");

	assert_non_null(b);
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\3www\7example\3net", DNS_TYPE_A,
					  60, (const uint8_t *)"\xc0\0\2\1", 4, 7, err, sizeof err),
			 -1);
	assert_string_equal(err,
			    "unit:7: record for www.example.net. is outside the zone example.");
	zone_builder_destroy(b);

	/* Not a subdomain even though the octets end the same way. */
	b = zone_builder_create(EXAMPLE, "unit");
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\12notexample", DNS_TYPE_A, 60,
					  (const uint8_t *)"\xc0\0\2\1", 4, 0, err, sizeof err),
			 -1);
	assert_string_equal(err, "unit: record for notexample. is outside the zone example.");
	zone_builder_destroy(b);
}

/* Adds one record at www.example. to a fresh builder and expects it refused. */
static void expect_bad_rdata(uint16_t type, const void *rd, uint16_t len, const char *reason)
{
	char err[256] = "";
	struct zone_builder *b = zone_builder_create(EXAMPLE, "unit");

	assert_non_null(b);
	if (zone_builder_add(b, (const uint8_t *)"\3www\7example", type, 60, rd, len, 9, err,
			     sizeof err) != -1)
		fail_msg("type %u rdata of %u octets accepted", type, len);
	if (strncmp(err, "unit:9: ", 8) != 0 || !strstr(err, reason))
		fail_msg("message '%s' does not say '%s'", err, reason);
	zone_builder_destroy(b);
}

static void test_builder_rejects_bad_rdata(void **state)
{
	(void)state;
	/* Names that are not names: cut short, compressed, a reserved label type, trailing junk. */
	expect_bad_rdata(DNS_TYPE_NS, "\5abc", 4, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_NS, "\3abc", 4, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_NS, "\3abc\xc0\x0c", 6, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_CNAME, "\x41\0", 2, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_PTR, "\3abc\0\0", 6, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_NS, "", 0, "malformed rdata");
	/* Fixed sizes. */
	expect_bad_rdata(DNS_TYPE_A, "\xc0\0\2", 3, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_A, "\xc0\0\2\1\0", 5, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_AAAA, "\x20\x01\x0d\xb8", 4, "malformed rdata");
	/* A preference or SRV numbers with no name after them. */
	expect_bad_rdata(DNS_TYPE_MX, "\0\x0a", 2, "malformed rdata");
	expect_bad_rdata(DNS_TYPE_SRV, "\0\1\0\2\0\3", 6, "malformed rdata");
	/* An SOA one octet short of its 20 octets of numbers. */
	uint8_t soa[128];
	size_t n = soa_rdata(soa, 1);
	expect_bad_rdata(DNS_TYPE_SOA, soa, (uint16_t)(n - 1), "malformed rdata");
	/* Meta types are not data. */
	expect_bad_rdata(DNS_TYPE_OPT, "", 0, "meta type");
	expect_bad_rdata(DNS_TYPE_ANY, "", 0, "meta type");
	expect_bad_rdata(DNS_TYPE_AXFR, "", 0, "meta type");
	expect_bad_rdata(0, "", 0, "meta type");

	/* rdata too long for a record in a 64 KiB message. */
	static uint8_t big[ZONE_RDATA_MAX + 1];
	expect_bad_rdata(DNS_TYPE_TXT, big, ZONE_RDATA_MAX + 1, "longer than");
}

static void test_builder_finish_needs_one_soa(void **state)
{
	(void)state;
	char err[256] = "";
	uint8_t soa[128];
	size_t n;

	struct zone_builder *b = zone_builder_create(EXAMPLE, "unit");
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\3www\7example", DNS_TYPE_A, 60,
					  (const uint8_t *)"\xc0\0\2\1", 4, 0, err, sizeof err),
			 0);
	assert_null(zone_builder_finish(b, err, sizeof err));
	assert_string_equal(err, "unit: no SOA record at the zone apex example.");

	/* An empty builder: no SOA either. */
	assert_null(zone_builder_finish(zone_builder_create(EXAMPLE, "unit"), err, sizeof err));
	assert_non_null(strstr(err, "no SOA record"));

	/* Two different SOA records. */
	b = zone_builder_create(EXAMPLE, "unit");
	n = soa_rdata(soa, 1);
	assert_int_equal(zone_builder_add(b, EXAMPLE, DNS_TYPE_SOA, 60, soa, (uint16_t)n, 1, err,
					  sizeof err),
			 0);
	n = soa_rdata(soa, 2);
	assert_int_equal(zone_builder_add(b, EXAMPLE, DNS_TYPE_SOA, 60, soa, (uint16_t)n, 2, err,
					  sizeof err),
			 0);
	assert_null(zone_builder_finish(b, err, sizeof err));
	assert_string_equal(err, "unit:2: example. has more than one SOA record");
}

/* ---- the builder: behaviour ---- */

static void test_builder_builds(void **state)
{
	(void)state;
	char err[256] = "";
	uint8_t soa[128];
	size_t n = soa_rdata(soa, 77);

	/* The origin and owners in any case; records in any order. */
	struct zone_builder *b = zone_builder_create((const uint8_t *)"\7ExAmPlE", "built");
	assert_non_null(b);
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\3WwW\7Example", DNS_TYPE_CNAME, 60,
					  (const uint8_t *)"\6Target\7Example", 16, 0, err,
					  sizeof err),
			 0);
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\7EXAMPLE", DNS_TYPE_SOA, 300, soa,
					  (uint16_t)n, 0, err, sizeof err),
			 0);
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\1a\1b\7example", DNS_TYPE_A, 60,
					  (const uint8_t *)"\xc0\0\2\1", 4, 0, err, sizeof err),
			 0);
	assert_int_equal(zone_builder_add(b, (const uint8_t *)"\1a\1b\7example", DNS_TYPE_A, 30,
					  (const uint8_t *)"\xc0\0\2\1", 4, 0, err, sizeof err),
			 0);
	struct zone_version *v = zone_builder_finish(b, err, sizeof err);
	if (!v)
		fail_msg("%s", err);

	assert_int_equal(zone_version_serial(v), 77);
	assert_memory_equal(zone_version_origin(v, NULL), "\7example", 9);
	assert_string_equal(zone_version_source(v), "built");
	assert_int_equal(zone_version_record_count(v), 3);
	assert_int_equal(zone_version_node_count(v), 4); /* apex, www, a.b, b */
	struct zone_rrset rs = rrset(v, "www.example.", DNS_TYPE_CNAME);
	uint16_t len;
	assert_memory_equal(first_rdata(&rs, &len), "\6Target\7Example", 16);
	rs = rrset(v, "a.b.example.", DNS_TYPE_A);
	assert_int_equal(rs.count, 1);
	assert_int_equal(rs.ttl, 30);
	assert_int_equal(zone_version_soa(v).ttl, 300);

	/* References: the version lives until the last one goes. */
	assert_ptr_equal(zone_version_ref(v), v);
	zone_version_unref(v);
	assert_int_equal(zone_version_serial(v), 77);
	zone_version_unref(v);
}

/* ---- the zone set ---- */

static void test_set_empty(void **state)
{
	(void)state;
	struct zone_set *s = zone_set_create();
	uint8_t name[WIRE_NAME_MAX];
	size_t len = dt_name("example.", name);

	assert_non_null(s);
	assert_int_equal(zone_set_count(s), 0);
	assert_null(zone_set_at(s, 0));
	assert_false(zone_set_has(s, name, len));
	assert_null(zone_set_served(s, name, len));
	assert_null(zone_set_match(s, name, len));
	assert_int_equal(zone_set_serve(s, name, len, 1), -1);
	assert_int_equal(zone_set_drop(s, name, len, 1), -1);
	zone_set_destroy(s);
}

/* The address in the first A record of a reply for name, as text. */
static void served_a(const struct zone_set *s, const char *name, char *out, size_t cap)
{
	ldns_pkt *pkt = dt_ask(s, name, DNS_TYPE_A, NULL, ANSWER_UDP, NULL);
	ldns_rr *rr = dt_rr(pkt, LDNS_SECTION_ANSWER, 0);
	char *txt = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	snprintf(out, cap, "%s", txt);
	free(txt);
	ldns_pkt_free(pkt);
}

static void test_set_versions(void **state)
{
	(void)state;
	struct zone_set *s = zone_set_create();
	struct zone_version *v1 = dt_load("example.zone");
	struct zone_version *v2 = dt_load("example-v2.zone");
	struct zone_version *again = dt_load("example.zone");
	uint8_t ex[WIRE_NAME_MAX];
	size_t el = dt_name("example.", ex);
	char addr[64];

	assert_int_equal(zone_set_add(s, v1, true), 0);
	assert_int_equal(zone_set_add(s, v2, false), 0);
	/* The same serial again is refused, and the one held stays. */
	assert_int_equal(zone_set_add(s, again, true), -1);
	zone_version_unref(again);
	assert_int_equal(zone_set_count(s), 1);
	assert_ptr_equal(zone_set_served(s, ex, el), v1);
	assert_ptr_equal(zone_set_at(s, 0), v1);
	served_a(s, "www.example.", addr, sizeof addr);
	assert_string_equal(addr, "192.0.2.80");

	/* Serving the other version changes the answers. */
	assert_int_equal(zone_set_serve(s, ex, el, 2024010102), 0);
	assert_ptr_equal(zone_set_served(s, ex, el), v2);
	served_a(s, "www.example.", addr, sizeof addr);
	assert_string_equal(addr, "192.0.2.81");
	assert_int_equal(zone_set_serve(s, ex, el, 12345), -1);
	assert_ptr_equal(zone_set_served(s, ex, el), v2);

	/* The served version cannot be dropped; the other can, once. */
	assert_int_equal(zone_set_drop(s, ex, el, 2024010102), -1);
	assert_int_equal(zone_set_drop(s, ex, el, 2024010101), 0);
	assert_int_equal(zone_set_drop(s, ex, el, 2024010101), -1);
	assert_int_equal(zone_set_serve(s, ex, el, 2024010101), -1);

	/* The set held its own references: ours can go, the versions stay. */
	zone_version_unref(v1);
	zone_version_unref(v2);
	assert_int_equal(zone_version_serial(zone_set_served(s, ex, el)), 2024010102);
	served_a(s, "www.example.", addr, sizeof addr);
	assert_string_equal(addr, "192.0.2.81");

	/* Dropped, it can come back. */
	v1 = dt_load("example.zone");
	assert_int_equal(zone_set_add(s, v1, true), 0);
	zone_version_unref(v1);
	served_a(s, "www.example.", addr, sizeof addr);
	assert_string_equal(addr, "192.0.2.80");
	zone_set_destroy(s);
}

static void test_set_match(void **state)
{
	(void)state;
	struct zone_set *s = dt_zones("example.zone", "sub.zone", NULL);
	uint8_t n[WIRE_NAME_MAX];
	size_t l;

	assert_int_equal(zone_set_count(s), 2);
	struct zone_version *ex = zone_set_at(s, 0), *sub = zone_set_at(s, 1);
	assert_int_equal(zone_version_serial(ex), 2024010101);
	assert_int_equal(zone_version_serial(sub), 7);
	assert_null(zone_set_at(s, 2));

	l = dt_name("example.", n);
	assert_true(zone_set_has(s, n, l));
	assert_ptr_equal(zone_set_match(s, n, l), ex);
	l = dt_name("sub.example.", n);
	assert_true(zone_set_has(s, n, l));
	assert_ptr_equal(zone_set_match(s, n, l), sub);
	assert_ptr_equal(zone_set_served(s, n, l), sub);
	l = dt_name("www.sub.example.", n);
	assert_false(zone_set_has(s, n, l));
	assert_ptr_equal(zone_set_match(s, n, l), sub);
	l = dt_name("a.b.www.sub.example.", n);
	assert_ptr_equal(zone_set_match(s, n, l), sub);
	l = dt_name("www.example.", n);
	assert_false(zone_set_has(s, n, l));
	assert_ptr_equal(zone_set_match(s, n, l), ex);
	l = dt_name("xsub.example.", n);
	assert_ptr_equal(zone_set_match(s, n, l), ex);
	l = dt_name("www.example.net.", n);
	assert_null(zone_set_match(s, n, l));
	assert_false(zone_set_has(s, n, l));
	l = dt_name("example.net.", n);
	assert_null(zone_set_match(s, n, l));
	l = dt_name(".", n);
	assert_null(zone_set_match(s, n, l));
	zone_set_destroy(s);

	/* Added the other way round, the longest origin still wins. */
	s = dt_zones("sub.zone", "example.zone", NULL);
	l = dt_name("www.sub.example.", n);
	assert_int_equal(zone_version_serial(zone_set_match(s, n, l)), 7);
	l = dt_name("www.example.", n);
	assert_int_equal(zone_version_serial(zone_set_match(s, n, l)), 2024010101);
	zone_set_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_is_noop),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_bad_origin),
		cmocka_unit_test(test_load_syntax_error),
		cmocka_unit_test(test_load_soa_first),
		cmocka_unit_test(test_load_out_of_zone),
		cmocka_unit_test(test_load_cname_rules),
		cmocka_unit_test(test_load_soa_not_at_apex),
		cmocka_unit_test(test_load_include_and_class),
		cmocka_unit_test(test_load_not_regular),
		cmocka_unit_test(test_load_ttl_range),
		cmocka_unit_test(test_load_nul_byte),
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_load_empty_nonterminals),
		cmocka_unit_test(test_load_node_flags),
		cmocka_unit_test(test_load_origin_argument),
		cmocka_unit_test(test_builder_rejects_out_of_zone),
		cmocka_unit_test(test_builder_rejects_bad_rdata),
		cmocka_unit_test(test_builder_finish_needs_one_soa),
		cmocka_unit_test(test_builder_builds),
		cmocka_unit_test(test_set_empty),
		cmocka_unit_test(test_set_versions),
		cmocka_unit_test(test_set_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
