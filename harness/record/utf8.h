/*
 * utf8.h - reading UTF-8 one code point at a time, for the writers of
 * reports: text from a history (names, reasons) is printed in XML, JSON,
 * HTML and on terminals, and each format needs it well formed.
 */
#ifndef HARNESS_RECORD_UTF8_H
#define HARNESS_RECORD_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/*
 * The code point at s (n > 0 bytes left) and its length. A byte that does
 * not start a well-formed sequence (stray continuation, overlong form,
 * surrogate, above U+10FFFF, cut short) is U+FFFD of length 1, so the caller
 * moves on one byte.
 */
static inline size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, c &= 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, c &= 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		goto bad;
	}
	if (len > n)
		goto bad;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		goto bad;
	*cp = c;
	return len;
bad:
	*cp = UTF8_REPLACEMENT;
	return 1;
}

#endif
