/*
 * json.c - UTF-8 validation and JSON string escaping (see json.h). The
 * escaper copies runs of plain ASCII at once: history lines are mostly that.
 */
#include "fakeresolver/json.h"

#include <string.h>

size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
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
		goto bad; /* a continuation byte, C0/C1 (always overlong), F5..FF */
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

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	while (n > 0) {
		uint32_t cp;
		size_t k;

		if (*p < 0x80) {
			p++;
			n--;
			continue;
		}
		k = utf8_next(p, n, &cp);
		/* A real U+FFFD in the text is three bytes long; a bad byte is one. */
		if (cp == UTF8_REPLACEMENT && k == 1)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

size_t utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0;
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp > 0x10FFFF)
		return 0;
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* \u and four lowercase hex digits of c (at most U+FFFF) at o; returns the bytes written. */
static size_t put_u(char *o, uint32_t c)
{
	static const char hex[] = "0123456789abcdef";

	o[0] = '\\';
	o[1] = 'u';
	o[2] = hex[c >> 12 & 15];
	o[3] = hex[c >> 8 & 15];
	o[4] = hex[c >> 4 & 15];
	o[5] = hex[c & 15];
	return 6;
}

/* The short escape's letter for c under esc, or 0 if c has none. */
static char short_escape(uint32_t c, enum json_esc esc)
{
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\n':
		return 'n';
	case '\t':
		return 't';
	case '\b':
		return esc == JSON_ESC_PLAIN ? 'b' : 0;
	case '\f':
		return esc == JSON_ESC_PLAIN ? 'f' : 0;
	case '\r':
		return esc == JSON_ESC_PLAIN ? 'r' : 0;
	default:
		return 0;
	}
}

/* Whether the ASCII byte c goes out as it is under esc. */
static bool ascii_plain(unsigned c, enum json_esc esc)
{
	if (c < 0x20 || c == '"' || c == '\\')
		return false;
	if (esc == JSON_ESC_SCRIPT && (c == 0x7F || c == '<' || c == '>' || c == '&'))
		return false;
	return true;
}

size_t json_escape(char *out, const char *s, size_t n, size_t max_in, enum json_esc esc,
                   size_t *used)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + n;
	const unsigned char *stop = max_in < n ? p + max_in : end;
	char *o = out;

	while (p < stop) {
		const unsigned char *q = p;
		uint32_t c;
		size_t k;
		char letter;

		while (q < stop && *q < 0x80 && ascii_plain(*q, esc))
			q++;
		if (q > p) {
			memcpy(o, p, (size_t)(q - p));
			o += q - p;
			p = q;
			continue;
		}
		k = utf8_next(p, (size_t)(end - p), &c);
		if (c == UTF8_REPLACEMENT && k == 1) {
			/* not UTF-8 */
			if (esc == JSON_ESC_SCRIPT) {
				o += put_u(o, UTF8_REPLACEMENT);
			} else {
				memcpy(o, "\xEF\xBF\xBD", 3);
				o += 3;
			}
		} else if (c >= 0x80) {
			if (esc == JSON_ESC_SCRIPT && (c == 0x2028 || c == 0x2029)) {
				o += put_u(o, c);
			} else {
				memcpy(o, p, k);
				o += k;
			}
		} else if ((letter = short_escape(c, esc)) != 0) {
			*o++ = '\\';
			*o++ = letter;
		} else {
			o += put_u(o, c); /* a control byte, or under SCRIPT DEL < > & */
		}
		p += k;
	}
	if (used)
		*used = (size_t)(p - (const unsigned char *)s);
	return (size_t)(o - out);
}
