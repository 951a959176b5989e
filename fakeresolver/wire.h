/*
 * wire.h - DNS wire format: bounded parsing of queries and names, and a
 * reply writer with name compression. No I/O, no allocation, no clock.
 *
 * Every parser here takes the packet length and never reads past it; a
 * malformed packet is a returned error, never a crash.
 */
#ifndef FAKERESOLVER_WIRE_H
#define FAKERESOLVER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_HEADER_LEN 12
#define WIRE_NAME_MAX 255  /* octets of an uncompressed wire name */
#define WIRE_LABEL_MAX 63
#define WIRE_UDP_MIN 512   /* the RFC 1035 UDP limit without EDNS */
#define WIRE_MSG_MAX 65535 /* the largest message TCP can frame */

/* Record types the engine treats specially; any other type is opaque data. */
enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_DNAME = 39,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_DS = 43,
	DNS_TYPE_RRSIG = 46,
	DNS_TYPE_NSEC = 47,
	DNS_TYPE_NSEC3 = 50,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_MAILB = 253,
	DNS_TYPE_MAILA = 254,
	DNS_TYPE_ANY = 255,
};

enum { DNS_CLASS_IN = 1, DNS_CLASS_ANY = 255 };

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_BADVERS = 16, /* extended: needs an OPT record to carry it */
};

/* Header flag bits (host order of the 16-bit flags word). */
#define WIRE_FLAG_QR 0x8000u
#define WIRE_FLAG_AA 0x0400u
#define WIRE_FLAG_TC 0x0200u
#define WIRE_FLAG_RD 0x0100u
#define WIRE_FLAG_RA 0x0080u
#define WIRE_FLAG_CD 0x0010u
#define WIRE_OPCODE(flags) (((flags) >> 11) & 0xfu)
#define WIRE_OPCODE_QUERY 0

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Reads the possibly compressed name at pkt[*pos] into out (uncompressed,
 * original letter case, at most WIRE_NAME_MAX octets) and advances *pos past
 * the name as it stands in the packet. Compression pointers must point
 * strictly backwards, which rules out loops. Returns 0 or -1 if malformed.
 */
int wire_name_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out, size_t *out_len);

/* Octets of the uncompressed, trusted wire name at name (including the root). */
size_t wire_name_len(const uint8_t *name);

/* Number of labels in an uncompressed wire name, not counting the root. */
unsigned wire_name_labels(const uint8_t *name);

/* True if two uncompressed wire names are equal, ignoring ASCII letter case. */
bool wire_name_equal(const uint8_t *a, const uint8_t *b);

/* Lower-cases the ASCII letters of an uncompressed wire name in place. */
void wire_name_lower(uint8_t *name);

/* True if name equals or lies below origin (both lower-case, uncompressed). */
bool wire_name_is_subdomain(const uint8_t *name, size_t name_len, const uint8_t *origin,
			    size_t origin_len);

/*
 * Formats an uncompressed wire name as presentation text ("www.example.")
 * into out (size cap, always terminated). Unprintable octets as \DDD.
 */
void wire_name_to_str(const uint8_t *name, char *out, size_t cap);

/* A parsed query: everything the answer engine needs, no pointers into the packet. */
struct wire_query {
	uint16_t id;
	uint16_t flags;
	uint16_t qtype;
	uint16_t qclass;
	size_t question_end;           /* the question is pkt[12, question_end) */
	uint8_t qname[WIRE_NAME_MAX];  /* uncompressed, lower-case */
	size_t qname_len;
	bool edns;                     /* an OPT record was present */
	uint8_t edns_version;
	bool edns_do;                  /* the DNSSEC OK bit */
	uint16_t edns_udp_size;        /* the client's advertised payload size */
};

/* What wire_query_parse decided about a packet. */
enum wire_verdict {
	WIRE_QUERY_OK = 0,   /* a well-formed QUERY with one question */
	WIRE_QUERY_DROP,     /* not worth a reply: shorter than a header, or a response (QR=1) */
	WIRE_QUERY_FORMERR,  /* malformed; reply FORMERR (question echoed if it parsed) */
	WIRE_QUERY_NOTIMP,   /* an opcode other than QUERY */
};

/*
 * Parses a query packet into q. On FORMERR, q->question_end is non-zero only
 * if the question itself parsed, so the reply can echo it.
 */
enum wire_verdict wire_query_parse(const uint8_t *pkt, size_t len, struct wire_query *q);

/*
 * A reply being written into a caller's buffer. Names written through it are
 * compressed against names written before (up to a fixed table size).
 */
#define WIRE_COMP_ENTRIES 64
struct wire_writer {
	uint8_t *buf;
	size_t len;   /* octets written */
	size_t limit; /* octets allowed (the UDP or TCP limit) */
	size_t ncomp;
	struct {
		const uint8_t *name; /* uncompressed suffix as written, borrowed */
		uint16_t name_len;
		uint16_t off; /* where it starts in buf */
	} comp[WIRE_COMP_ENTRIES];
};

/* Starts a writer on buf, which must hold at least limit octets. */
void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t limit);

/*
 * Registers an uncompressed name already present at offset off of the buffer
 * (such as the echoed question) as a compression target; name is borrowed and
 * must outlive the writer.
 */
void wire_writer_remember(struct wire_writer *w, const uint8_t *name, size_t off);

/* Appends raw octets. Returns 0, or -1 if they do not fit (nothing written). */
int wire_write_bytes(struct wire_writer *w, const void *p, size_t n);

/*
 * Appends an uncompressed name, compressing it against earlier names (letter
 * case ignored). name is borrowed and must outlive the writer.
 */
int wire_write_name(struct wire_writer *w, const uint8_t *name);

/*
 * Appends one resource record: owner (borrowed, outliving the writer), type,
 * class IN, ttl and rdata. Names inside the rdata of NS, CNAME, PTR, MX and SOA
 * are compressed (RFC 1035 types only, as RFC 3597 requires). Returns 0, or -1
 * when it does not fit, in which case nothing of it was written.
 */
int wire_write_rr(struct wire_writer *w, const uint8_t *owner, uint16_t type, uint32_t ttl,
		  const uint8_t *rdata, uint16_t rdlen);

/* Appends an OPT record with our payload size, the given extended rcode and DO bit. */
int wire_write_opt(struct wire_writer *w, uint16_t payload, uint8_t ext_rcode, bool dnssec_ok);

/* Forgets compression targets at or past offset len and truncates the buffer to it. */
void wire_writer_rewind(struct wire_writer *w, size_t len);

/*
 * Copies the rdata of one record, pkt[rdata_off, rdata_off + rdlen), into out
 * (cap octets) with the names embedded in it decompressed: NS, CNAME, PTR and
 * DNAME (one name), MX (after 2 octets), SRV (after 6) and SOA (two names and
 * 20 octets); any other type is copied as it is. Names are read with
 * wire_name_read (backward pointers only) and must end exactly where the type
 * says. *out_len gets the octets written. Returns 0, or -1 if the rdata is
 * malformed or does not fit in out (nothing useful is left in out then).
 */
int wire_rdata_read(const uint8_t *pkt, size_t len, size_t rdata_off, uint16_t rdlen,
		    uint16_t type, uint8_t *out, size_t cap, size_t *out_len);

/* One record read from a message; rdata points into the caller's buffer. */
struct wire_rr {
	uint8_t owner[WIRE_NAME_MAX]; /* uncompressed, original letter case */
	size_t owner_len;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	const uint8_t *rdata; /* decompressed, in rdata_buf of wire_rr_read */
	uint16_t rdlen;
};

/*
 * Reads the record at pkt[*pos] into rr and advances *pos past it. Its rdata
 * is decompressed (as wire_rdata_read) into rdata_buf (cap octets, borrowed;
 * rr->rdata points into it). Returns 0, or -1 if malformed or too large for
 * rdata_buf (then *pos is unchanged).
 */
int wire_rr_read(const uint8_t *pkt, size_t len, size_t *pos, struct wire_rr *rr,
		 uint8_t *rdata_buf, size_t cap);

#endif
