/*
 * test_json.c - the shared UTF-8 validator and JSON string escaper
 * (fakeresolver/json.c): RFC 3629's ill-formed sequences, the two escaping
 * policies byte for byte, escaping in pieces, and a property test: for
 * random byte strings, the escaped text read back by the history reader
 * (harness/record/hist.c) is the input when the input was UTF-8, and the
 * input with each bad byte as U+FFFD when it was not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakeresolver/json.h"
#include "harness/record/hist.h"

/* ---- UTF-8 ---- */

struct seq {
	const char *s;
	size_t n;
	uint32_t cp; /* of the first code point */
	size_t len;  /* its length, 1 for a bad byte */
};

#define SEQ(lit, cp, len) { lit, sizeof lit - 1, cp, len }

static const struct seq seqs[] = {
	SEQ("A", 'A', 1),
	SEQ("\x7F", 0x7F, 1),
	SEQ("\xC2\x80", 0x80, 2),
	SEQ("\xDF\xBF", 0x7FF, 2),
	SEQ("\xE0\xA0\x80", 0x800, 3),
	SEQ("\xED\x9F\xBF", 0xD7FF, 3),
	SEQ("\xEE\x80\x80", 0xE000, 3),
	SEQ("\xEF\xBF\xBD", 0xFFFD, 3), /* a real U+FFFD */
	SEQ("\xEF\xBF\xBF", 0xFFFF, 3),
	SEQ("\xF0\x90\x80\x80", 0x10000, 4),
	SEQ("\xF0\x9F\x98\x80", 0x1F600, 4),
	SEQ("\xF4\x8F\xBF\xBF", 0x10FFFF, 4),
	/* ill-formed: each is one bad byte */
	SEQ("\x80", UTF8_REPLACEMENT, 1),           /* a stray continuation byte */
	SEQ("\xBF\x80", UTF8_REPLACEMENT, 1),
	SEQ("\xC0\x80", UTF8_REPLACEMENT, 1),       /* overlong NUL */
	SEQ("\xC1\xBF", UTF8_REPLACEMENT, 1),       /* overlong DEL */
	SEQ("\xE0\x80\x80", UTF8_REPLACEMENT, 1),   /* overlong 3-byte */
	SEQ("\xE0\x9F\xBF", UTF8_REPLACEMENT, 1),
	SEQ("\xF0\x80\x80\x80", UTF8_REPLACEMENT, 1), /* overlong 4-byte */
	SEQ("\xF0\x8F\xBF\xBF", UTF8_REPLACEMENT, 1),
	SEQ("\xED\xA0\x80", UTF8_REPLACEMENT, 1),   /* U+D800, a surrogate */
	SEQ("\xED\xBF\xBF", UTF8_REPLACEMENT, 1),   /* U+DFFF */
	SEQ("\xED\xA0\xBD\xED\xB8\x80", UTF8_REPLACEMENT, 1), /* CESU-8 of U+1F600 */
	SEQ("\xF4\x90\x80\x80", UTF8_REPLACEMENT, 1), /* U+110000 */
	SEQ("\xF5\x80\x80\x80", UTF8_REPLACEMENT, 1),
	SEQ("\xFF", UTF8_REPLACEMENT, 1),
	SEQ("\xC2", UTF8_REPLACEMENT, 1),           /* cut short */
	SEQ("\xE2\x82", UTF8_REPLACEMENT, 1),
	SEQ("\xF0\x9F\x98", UTF8_REPLACEMENT, 1),
	SEQ("\xE2\x28\xA1", UTF8_REPLACEMENT, 1),   /* a bad continuation */
};

static void test_utf8_next(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		uint32_t cp = 0;
		size_t len = utf8_next((const unsigned char *)seqs[i].s, seqs[i].n, &cp);
		if (cp != seqs[i].cp || len != seqs[i].len)
			fail_msg("seqs[%zu]: U+%04X length %zu, not U+%04X length %zu", i, (unsigned)cp,
				 len, (unsigned)seqs[i].cp, seqs[i].len);
		bool whole = seqs[i].len == seqs[i].n && !(seqs[i].cp == UTF8_REPLACEMENT &&
							    seqs[i].len == 1);
		if (utf8_valid(seqs[i].s, seqs[i].n) != whole)
			fail_msg("seqs[%zu]: utf8_valid says %d", i, !whole);
	}
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("a\0b", 3)); /* NUL is UTF-8 */
	assert_false(utf8_valid("abc\xC3", 4));
}

/* utf8_encode writes every scalar value as utf8_next reads it back, and refuses the rest. */
static void test_utf8_encode(void **state)
{
	(void)state;
	for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
		char b[4];
		uint32_t back;
		size_t n = utf8_encode(cp, b);
		if (cp >= 0xD800 && cp <= 0xDFFF) {
			assert_int_equal(n, 0);
			continue;
		}
		size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (n != want || utf8_next((const unsigned char *)b, n, &back) != n || back != cp)
			fail_msg("U+%04X: %zu bytes, read back as U+%04X", (unsigned)cp, n,
				 (unsigned)back);
	}
	char b[4];
	assert_int_equal(utf8_encode(0x110000, b), 0);
	assert_int_equal(utf8_encode(UINT32_MAX, b), 0);
}

/* ---- escaping ---- */

/* json_escape of s (n bytes) in one go, NUL-terminated (free it). */
static char *esc(const char *s, size_t n, enum json_esc mode)
{
	char *out = malloc(JSON_ESCAPE_ROOM(n) + 1);
	size_t used = 99;
	assert_non_null(out);
	size_t len = json_escape(out, s, n, n, mode, &used);
	assert_int_equal(used, n);
	assert_true(len <= JSON_ESCAPE_ROOM(n));
	out[len] = 0;
	return out;
}

static void check_esc(const char *s, size_t n, enum json_esc mode, const char *want)
{
	char *got = esc(s, n, mode);
	assert_string_equal(got, want);
	free(got);
}

#define CHECK(lit, mode, want) check_esc(lit, sizeof lit - 1, mode, want)

static void test_escape_plain(void **state)
{
	(void)state;
	CHECK("", JSON_ESC_PLAIN, "");
	CHECK("www.example.", JSON_ESC_PLAIN, "www.example.");
	CHECK("a\"b\\c/d", JSON_ESC_PLAIN, "a\\\"b\\\\c/d");
	CHECK("\b\f\n\r\t", JSON_ESC_PLAIN, "\\b\\f\\n\\r\\t");
	CHECK("\x01\x1f\x7f", JSON_ESC_PLAIN, "\\u0001\\u001f\x7f");
	CHECK("\0x", JSON_ESC_PLAIN, "\\u0000x");
	CHECK("<&>", JSON_ESC_PLAIN, "<&>");
	CHECK("\xC2\x85 \xE2\x80\xA8 \xF0\x9F\x98\x80", JSON_ESC_PLAIN,
	      "\xC2\x85 \xE2\x80\xA8 \xF0\x9F\x98\x80");
	/* each bad byte is one U+FFFD, written as UTF-8 */
	CHECK("a\xFF" "b\xED\xA0\x80", JSON_ESC_PLAIN,
	      "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	CHECK("\xC0\xAF", JSON_ESC_PLAIN, "\xEF\xBF\xBD\xEF\xBF\xBD");
	CHECK("\xEF\xBF\xBD", JSON_ESC_PLAIN, "\xEF\xBF\xBD");
}

static void test_escape_script(void **state)
{
	(void)state;
	CHECK("</script><!--&", JSON_ESC_SCRIPT,
	      "\\u003c/script\\u003e\\u003c!--\\u0026");
	CHECK("a\"b\\c\n\t", JSON_ESC_SCRIPT, "a\\\"b\\\\c\\n\\t");
	CHECK("\b\f\r\x01\x7f", JSON_ESC_SCRIPT, "\\u0008\\u000c\\u000d\\u0001\\u007f");
	CHECK("\xE2\x80\xA8\xE2\x80\xA9\xE2\x80\xAA", JSON_ESC_SCRIPT,
	      "\\u2028\\u2029\xE2\x80\xAA");
	CHECK("\xFF\xEF\xBF\xBD", JSON_ESC_SCRIPT, "\\ufffd\xEF\xBF\xBD");
	CHECK("\xC3\xA9", JSON_ESC_SCRIPT, "\xC3\xA9");
}

/* Escaping in pieces of any size gives the same text as in one go; a sequence is never split. */
static void test_escape_pieces(void **state)
{
	static const char s[] = "ab\xF0\x9F\x98\x80\"\xE2\x80\xA8\x01\xFF\xC3\xA9<z";
	size_t n = sizeof s - 1;

	(void)state;
	for (int mode = JSON_ESC_PLAIN; mode <= JSON_ESC_SCRIPT; mode++) {
		char *whole = esc(s, n, (enum json_esc)mode);
		for (size_t piece = 1; piece <= n; piece++) {
			char out[JSON_ESCAPE_ROOM(sizeof s) + 1];
			size_t len = 0, off = 0, used;
			while (off < n) {
				size_t k = json_escape(out + len, s + off, n - off, piece,
						       (enum json_esc)mode, &used);
				assert_true(k <= JSON_ESCAPE_ROOM(piece));
				assert_true(used >= 1 && used <= piece + 3);
				len += k;
				off += used;
			}
			assert_int_equal(off, n);
			out[len] = 0;
			assert_string_equal(out, whole);
		}
		free(whole);
	}
}

/* ---- the property: escaped, then read back by hist.c ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t below)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % below);
}

/* Random text of n bytes, no NUL: UTF-8 built from code points, or raw bytes. */
static void random_text(char *s, size_t n, bool utf8)
{
	size_t i = 0;
	while (i < n) {
		if (!utf8) {
			/* bytes around the interesting edges, never NUL */
			static const unsigned char edge[] = { 0x01, 0x1F, '"', '\\', '<', 0x7F, 0x80,
							      0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xEF,
							      0xF0, 0xF4, 0xF5, 0xFF };
			s[i++] = (char)(rnd(3) ? edge[rnd(sizeof edge)] : 1 + rnd(255));
			continue;
		}
		uint32_t cp;
		switch (rnd(4)) {
		case 0: cp = 1 + rnd(0x7F); break;
		case 1: cp = 0x80 + rnd(0x800 - 0x80); break;
		case 2: cp = 0x800 + rnd(0x10000 - 0x800); break;
		default: cp = 0x10000 + rnd(0x110000 - 0x10000); break;
		}
		char b[4];
		size_t k = utf8_encode(cp, b);
		if (k == 0 || i + k > n)
			continue; /* a surrogate, or no room: draw again */
		memcpy(s + i, b, k);
		i += k;
	}
}

/* s with each byte that is not UTF-8 as U+FFFD, NUL-terminated, into out. */
static size_t repaired(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (cp == UTF8_REPLACEMENT && k == 1) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	out[o] = 0;
	return o;
}

static void test_roundtrip_through_hist(void **state)
{
	char path[] = "/tmp/test_json.XXXXXX";
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	close(fd);

	for (int round = 0; round < 3000; round++) {
		enum json_esc mode = round % 3 == 2 ? JSON_ESC_SCRIPT : JSON_ESC_PLAIN;
		bool utf8 = round % 2 == 0;
		size_t n = 1 + rnd(48);
		char s[64], want[3 * 64 + 1], line[JSON_ESCAPE_ROOM(64) + 256], err[512];
		random_text(s, n, utf8);
		char *e = esc(s, n, mode);

		/* valid UTF-8, no raw control byte; under SCRIPT nothing that could end the element */
		assert_true(utf8_valid(e, strlen(e)));
		for (const char *c = e; *c; c++) {
			assert_true((unsigned char)*c >= 0x20);
			if (mode == JSON_ESC_SCRIPT)
				assert_null(strchr("<>&\x7f", *c));
		}
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fprintf(f, "{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"dnschaos\":\"0.1.0\","
			   "\"scenario\":\"s.lua\",\"name\":\"%s\",\"seed\":1,\"duration\":1.000}\n", e);
		assert_int_equal(fclose(f), 0);
		snprintf(line, sizeof line, "%s", e);
		free(e);

		struct hist *h = hist_load(path, err, sizeof err);
		if (!h)
			fail_msg("round %d: %s (escaped: %s)", round, err, line);
		size_t wl = repaired(s, n, want);
		if (utf8_valid(s, n))
			assert_memory_equal(want, s, n); /* the input itself comes back */
		const char *got = hist_meta(h)->name;
		assert_non_null(got);
		if (strlen(got) != wl || memcmp(got, want, wl) != 0)
			fail_msg("round %d: read back differs (escaped: %s)", round, line);
		hist_free(h);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_next),
		cmocka_unit_test(test_utf8_encode),
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_script),
		cmocka_unit_test(test_escape_pieces),
		cmocka_unit_test(test_roundtrip_through_hist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
