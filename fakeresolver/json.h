/*
 * json.h - UTF-8 (RFC 3629) read one code point at a time, and JSON strings
 * (RFC 8259) escaped: the one validator and the one escaper shared by the
 * daemon's query log, the history writer and the reports. Text from the
 * wire or a scenario may hold any byte; what these write is always valid
 * UTF-8 and valid JSON.
 *
 * Plain functions on caller memory: no allocation, no state, safe from any
 * thread.
 */
#ifndef FAKERESOLVER_JSON_H
#define FAKERESOLVER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/*
 * The code point at s (n > 0 bytes left) and its length (1 to 4). A byte
 * that does not start a well-formed sequence (a stray continuation byte, an
 * overlong form, a surrogate, a code point above U+10FFFF, a sequence cut
 * short) is U+FFFD of length 1, so the caller moves on one byte: each such
 * byte is one U+FFFD.
 */
size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Whether s (n bytes) is well-formed UTF-8 as RFC 3629 defines it. */
bool utf8_valid(const char *s, size_t n);

/*
 * Writes the Unicode scalar value cp as UTF-8 into out and returns its
 * length (1 to 4); returns 0 and writes nothing for a surrogate
 * (U+D800..U+DFFF) or a value above U+10FFFF.
 */
size_t utf8_encode(uint32_t cp, char out[4]);

/* Bytes written for one byte read, at most (a control byte as \u00XX). */
#define JSON_ESCAPE_GROWTH 6
/* The room json_escape needs for max_in bytes (a sequence begun before max_in runs 3 past it). */
#define JSON_ESCAPE_ROOM(max_in) (JSON_ESCAPE_GROWTH * ((max_in) + 3))

/*
 * Escaping policies. JSON_ESC_PLAIN (history, query log, JSON report):
 * `"` and `\` escaped, \b \f \n \r \t short, every other byte below 0x20 as
 * \u00xx (lowercase hex); everything else as it is, and each byte that is not
 * UTF-8 as U+FFFD (its three UTF-8 bytes).
 * JSON_ESC_SCRIPT (JSON inside an HTML <script> element): `"`, `\`, \n and \t
 * short; every other byte below 0x20, DEL, `<`, `>`, `&`, U+2028, U+2029 and
 * each byte that is not UTF-8 as \uxxxx (\ufffd for the last), so no
 * "</script>" or "<!--" can end the element.
 */
enum json_esc {
	JSON_ESC_PLAIN,
	JSON_ESC_SCRIPT,
};

/*
 * Escapes the text s (n bytes, any bytes, NUL included) as the inside of a
 * JSON string (no quotes) into out under policy esc. It stops before the
 * first code point that starts at or after max_in (pass n or more for all of
 * s); a sequence begun before max_in is finished, so up to 3 bytes more are
 * read. Sets *used to the bytes read (used may be NULL) and returns the bytes
 * written, at most JSON_ESCAPE_ROOM(max_in); out must hold that many.
 */
size_t json_escape(char *out, const char *s, size_t n, size_t max_in, enum json_esc esc,
                   size_t *used);

#endif
