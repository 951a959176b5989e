/*
 * fuzz_zone.c - libFuzzer target for the zone loader: arbitrary master-file
 * text through zone_version_load (ldns, then the builder's validation), and
 * for every zone that loads, a few queries and a full transfer against it.
 *
 * LeakSanitizer checks every error path frees what it took. Beyond that it
 * checks that a loaded zone answers the SOA query at its apex with exactly
 * that SOA, that replies parse (ldns) and that a transfer carries each record
 * once between two SOAs.
 */
#include "fakeresolver/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TCP_CAP WIRE_MSG_MAX

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * zone_version_load takes a path: one temporary file, made once and rewritten
 * for every input (libFuzzer gives a target no context, hence the globals).
 */
static char fuzz_path[] = "/tmp/fuzz_zone.XXXXXX";
static int fuzz_fd = -1;

static void remove_file(void)
{
	unlink(fuzz_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_fd = mkstemp(fuzz_path);
	if (fuzz_fd < 0) {
		perror("fuzz_zone: mkstemp");
		abort();
	}
	atexit(remove_file);
	return 0;
}

/* Writes a query for name (uncompressed wire) and type; returns its length. */
static size_t make_query(uint8_t *q, uint16_t id, const uint8_t *name, uint16_t type)
{
	size_t n = wire_name_len(name);
	memset(q, 0, WIRE_HEADER_LEN);
	wire_put16(q, id);
	wire_put16(q + 4, 1);
	memcpy(q + WIRE_HEADER_LEN, name, n);
	wire_put16(q + WIRE_HEADER_LEN + n, type);
	wire_put16(q + WIRE_HEADER_LEN + n + 2, DNS_CLASS_IN);
	return WIRE_HEADER_LEN + n + 4;
}

/* Asks one question over TCP; checks the reply's frame and returns it parsed by ldns. */
static ldns_pkt *ask(const struct zone_set *zones, const uint8_t *name, uint16_t type,
                     struct answer_info *info)
{
	uint8_t q[WIRE_HEADER_LEN + WIRE_NAME_MAX + 4];
	size_t qlen = make_query(q, 0x1234, name, type);
	uint8_t *out = malloc(TCP_CAP);
	ldns_pkt *p = NULL;
	if (!out)
		return NULL;
	size_t n = answer_query(zones, q, qlen, ANSWER_TCP, out, TCP_CAP, info);
	CHECK(info->action == ANSWER_REPLY);
	CHECK(n >= WIRE_HEADER_LEN && n <= TCP_CAP);
	CHECK(wire_get16(out) == 0x1234);
	CHECK(wire_get16(out + 2) & WIRE_FLAG_QR);
	ldns_status st = ldns_wire2pkt(&p, out, n);
	if (st != LDNS_STATUS_OK)
		fprintf(stderr, "reply does not parse: %s\n", ldns_get_errorstr_by_id(st));
	CHECK(st == LDNS_STATUS_OK);
	free(out);
	return p;
}

/* A full transfer in 64 KiB messages, as the server streams it. */
static void transfer(const struct zone_set *zones, struct zone_version *v)
{
	struct answer_info info;
	uint8_t q[WIRE_HEADER_LEN + WIRE_NAME_MAX + 4];
	size_t qlen = make_query(q, 0x4321, zone_version_origin(v, NULL), DNS_TYPE_AXFR);
	struct answer_axfr *x = NULL;
	uint8_t *out = malloc(TCP_CAP);
	if (!out)
		goto out;
	CHECK(answer_query(zones, q, qlen, ANSWER_TCP, out, TCP_CAP, &info) == 0);
	CHECK(info.action == ANSWER_AXFR && info.zone == v);
	x = answer_axfr_create(&info);
	if (!x)
		goto out;
	size_t records = zone_version_record_count(v);
	size_t rrs = 0, msgs = 0, n;
	while ((n = answer_axfr_next(x, out, TCP_CAP)) != 0) {
		CHECK(++msgs <= records + 1);
		CHECK(n >= WIRE_HEADER_LEN && n <= TCP_CAP);
		CHECK(wire_get16(out) == 0x4321);
		CHECK(wire_get16(out + 6) > 0);
		rrs += wire_get16(out + 6);
	}
	CHECK(rrs == records + 1);
out:
	answer_axfr_destroy(x);
	free(out);
}

static void exercise(struct zone_version *v)
{
	struct zone_set *zones = zone_set_create();
	struct answer_info info;
	ldns_pkt *p;
	if (!zones || zone_set_add(zones, v, true) != 0)
		goto out;

	/* The SOA at the apex: authoritative, exactly the one SOA. */
	p = ask(zones, zone_version_origin(v, NULL), DNS_TYPE_SOA, &info);
	if (p) {
		CHECK(info.rcode == DNS_RCODE_NOERROR);
		CHECK(info.flags & WIRE_FLAG_AA);
		CHECK(info.ancount == 1);
		CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)) == LDNS_RR_TYPE_SOA);
		ldns_pkt_free(p);
	}
	/* An address for the first name after the apex: whatever path that takes. */
	if (zone_version_node_count(v) > 1) {
		p = ask(zones, zone_node_name(v, 1), DNS_TYPE_A, &info);
		ldns_pkt_free(p);
	}
	transfer(zones, v);
out:
	zone_set_destroy(zones);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz_zone: rewriting the input file");
		abort();
	}
	err[0] = 0;
	struct zone_version *v = zone_version_load(fuzz_path, NULL, err, sizeof err);
	if (!v) {
		/* A failure says where: the file name leads the message. */
		CHECK(strncmp(err, fuzz_path, strlen(fuzz_path)) == 0);
		return 0;
	}
	exercise(v);
	zone_version_unref(v);
	return 0;
}
