/*
 * history.c - the JSONL history writer: hand-rolled number formatting,
 * RFC 8259 string escaping with UTF-8 repair, and a buffer of whole lines
 * written with write(2).
 */
#include "harness/record/history.h"
#include "harness/record/outfile.h"
#include "fakeresolver/json.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The buffer starts big enough that a line begun under HISTORY_FLUSH_BYTES rarely grows it. */
#define HISTORY_INITIAL_CAP (HISTORY_FLUSH_BYTES + 32 * 1024)
/* Strings are escaped in chunks of this many input bytes, so the room reserved stays small. */
#define ESCAPE_CHUNK 4096
/*
 * Lines in a regular file are kept from straddling a multiple of this (see
 * align_line). A write(2) that SIGKILL interrupts stops at a page boundary,
 * and every page size is a multiple of 4 KiB.
 */
#define HISTORY_PAGE 4096
/* The longest fixed-point number: sign, 309 integer digits, point, decimals, NUL. */
#define FIXED_MAX (1 + 309 + 1 + HISTORY_DECIMALS_MAX + 1)

enum history_state {
	HISTORY_IDLE,  /* between lines */
	HISTORY_LINE,  /* a line is open */
	HISTORY_ARRAY, /* an array is open inside a line */
	HISTORY_DEAD,  /* an error happened: every later line is dropped */
};

struct history {
	char *buf;    /* whole lines (the first `whole` bytes), then the line in progress */
	size_t len;   /* bytes used in buf */
	size_t whole; /* bytes of whole lines at the front of buf */
	size_t cap;
	enum history_state state;
	bool array_first;  /* the open array has no element yet */
	bool write_failed; /* nothing more is written */
	int fd;
	bool own_fd;
	off_t base;          /* where the first line went, in a file history_open made; else -1 */
	bool rewind;         /* buf starts at the file's last byte (a '\n'), see align_line */
	uint64_t file_bytes; /* bytes of whole lines written */
	uint64_t file_lines; /* whole lines written */
	uint64_t lines;      /* lines ended */
	double last_t;       /* the t of the last line begun */
	char *name;          /* for messages */
	char error[512];     /* the first error, "" if none */
	/*
	 * Recursive; held by the writing thread from history_begin to
	 * history_end (line_locked) and around every other call, so that
	 * history_emergency_end, from another thread, never sees half a line.
	 */
	pthread_mutex_t lock;
	pthread_mutex_t *lockp; /* &lock, usable from a const history */
	bool line_locked;
	/*
	 * Set by history_emergency_end before it waits for the lock: every other
	 * thread that comes for the lock from then on waits for the process's
	 * end instead. A mutex is not fair: a writer that releases it and takes
	 * it again at once can keep the ender out for good (seen under valgrind,
	 * whose threads run in turns).
	 */
	atomic_bool closing;
	pthread_t closer; /* written before closing is set */
	bool end_begun;   /* the open line is an `end` line */
	bool manual;      /* history_set_manual: lines begun now are an operator's */
	bool mark_line;   /* the open line ends with "manual":true */
	bool ended;     /* an `end` line was completed */
	history_tap_fn tap; /* history_set_tap: called under the lock by history_end */
	void *tap_arg;
};

/*
 * Once an ender waits, a thread that holds no line waits for the process's
 * end here; one inside a line (it holds the lock: line_locked is its own to
 * read) finishes the line first.
 */
static void lock(const struct history *h)
{
	if (atomic_load_explicit(&h->closing, memory_order_acquire) && !h->line_locked &&
	    !pthread_equal(h->closer, pthread_self()))
		for (;;)
			pause(); /* the ender _exits the process */
	pthread_mutex_lock(h->lockp);
}

static void unlock(const struct history *h)
{
	pthread_mutex_unlock(h->lockp);
}

/* Releases the lock history_begin took for the line, if it is held. Under the lock. */
static void unlock_line(struct history *h)
{
	if (h->line_locked) {
		h->line_locked = false;
		unlock(h);
	}
}

static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

static const uint64_t pow10_table[HISTORY_DECIMALS_MAX + 1] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

/* Records the first error and drops the line in progress; later lines are dropped too. */
static void fail(struct history *h, const char *fmt, ...)
{
	va_list ap;

	lock(h);
	if (h->error[0] == 0) {
		va_start(ap, fmt);
		vsnprintf(h->error, sizeof h->error, fmt, ap);
		va_end(ap);
	}
	h->len = h->whole;
	h->state = HISTORY_DEAD;
	unlock_line(h);
	unlock(h);
}

/* A call out of order: a bug in the caller, reported like any other error. */
static void misuse(struct history *h, const char *fn)
{
	static const char *const where[] = {
	        [HISTORY_IDLE] = "with no line begun (history_begin missing)",
	        [HISTORY_LINE] =
	                "while a line is open (history_end or history_array_begin missing)",
	        [HISTORY_ARRAY] = "inside an array (history_array_end missing)",
	};

	if (h->state == HISTORY_DEAD)
		return;
	fail(h, "history %s: internal error: %s called %s; no more lines are recorded", h->name, fn,
	     where[h->state]);
}

/* True, with the error recorded, if n more bytes would make the line in progress too long. */
static bool too_long(struct history *h, size_t n)
{
	if (n <= HISTORY_LINE_MAX && h->len - h->whole + n <= HISTORY_LINE_MAX)
		return false;
	fail(h,
	     "history %s: a line would be longer than %d MiB; it was dropped and no more lines "
	     "are recorded",
	     h->name, HISTORY_LINE_MAX / (1024 * 1024));
	return true;
}

/* Grows buf so that n more bytes fit. Returns where they go, or NULL after an error. */
static char *grow(struct history *h, size_t n)
{
	size_t cap = h->cap;
	char *nb;

	if (too_long(h, n))
		return NULL;
	while (cap - h->len < n)
		cap *= 2;
	nb = realloc(h->buf, cap);
	if (!nb) {
		fail(h, "history %s: out of memory; no more lines are recorded", h->name);
		return NULL;
	}
	h->buf = nb;
	h->cap = cap;
	return h->buf + h->len;
}

/* Room for n more bytes. Returns where they go, or NULL after an error. */
static inline char *reserve(struct history *h, size_t n)
{
	if (h->cap - h->len >= n)
		return h->buf + h->len;
	return grow(h, n);
}

/* Writes v in decimal backwards, ending just before end. Returns the first digit. */
static inline char *format_u64(char *end, uint64_t v)
{
	char *p = end;

	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + i, 2);
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + v * 2, 2);
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

/*
 * Writes v with `decimals` digits after the point (no point for 0) into out
 * (FIXED_MAX bytes), or null for NaN and infinities. Returns the length.
 */
static size_t format_fixed(char *out, double v, int decimals)
{
	char tmp[24];
	char *end = tmp + sizeof tmp;
	char *p = end;
	double scaled, a;
	uint64_t u, whole, frac;
	size_t n = 0;
	int d = decimals < 0                      ? 0
	        : decimals > HISTORY_DECIMALS_MAX ? HISTORY_DECIMALS_MAX
	                                          : decimals;

	if (v != v || v - v != 0) { /* NaN, or an infinity (inf - inf is NaN) */
		memcpy(out, "null", 4);
		return 4;
	}
	scaled = v * (double)pow10_table[d];
	a = scaled < 0 ? -scaled : scaled;
	if (!(a < 9e18)) {
		/* Too big for the integer path: rare, and printf gets it right. */
		int r = snprintf(out, FIXED_MAX, "%.*f", d, v);
		return r < 0 ? 0 : (size_t)r;
	}
	u = (uint64_t)a;
	if (a - (double)u >= 0.5) /* exact below 2^53; above it a is an integer */
		u++;
	whole = u / pow10_table[d];
	frac = u % pow10_table[d];
	for (int i = 0; i < d; i++) {
		*--p = (char)('0' + frac % 10);
		frac /= 10;
	}
	if (d > 0)
		*--p = '.';
	p = format_u64(p, whole);
	if (scaled < 0 && u != 0)
		out[n++] = '-';
	memcpy(out + n, p, (size_t)(end - p));
	return n + (size_t)(end - p);
}

/* Appends s (n bytes) as a JSON string: escaped, with invalid UTF-8 replaced by U+FFFD (json.h). */
static void put_string(struct history *h, const char *s, size_t n)
{
	char *o = reserve(h, 2);

	if (!o)
		return;
	*o++ = '"';
	while (n > 0) {
		size_t chunk = n < ESCAPE_CHUNK ? n : ESCAPE_CHUNK, used;

		h->len = (size_t)(o - h->buf);
		/* At most 6 bytes out per byte in; a sequence may run 3 bytes past the chunk. */
		if (too_long(h, JSON_ESCAPE_ROOM(chunk) + 1))
			return; /* the buffer may have room, but the line is long enough */
		o = reserve(h, JSON_ESCAPE_ROOM(chunk) + 1);
		if (!o)
			return;
		o += json_escape(o, s, n, chunk, JSON_ESC_PLAIN, &used);
		s += used;
		n -= used;
	}
	*o++ = '"';
	h->len = (size_t)(o - h->buf);
}

/*
 * Starts a field: checks the state and writes ,"key": with room for extra
 * more bytes. Returns where the value goes, or NULL (error recorded).
 */
static char *field(struct history *h, const char *key, size_t extra, const char *fn)
{
	size_t kl;
	char *p;

	if (h->state != HISTORY_LINE) {
		misuse(h, fn);
		return NULL;
	}
	kl = strlen(key);
	p = reserve(h, kl + 4 + extra);
	if (!p)
		return NULL;
	*p++ = ',';
	*p++ = '"';
	memcpy(p, key, kl);
	p += kl;
	*p++ = '"';
	*p++ = ':';
	return p;
}

/* A field whose value is already formatted. */
static void put_field(struct history *h, const char *key, const char *val, size_t n, const char *fn)
{
	char *p = field(h, key, n, fn);

	if (!p)
		return;
	memcpy(p, val, n);
	h->len = (size_t)(p + n - h->buf);
}

/* Waits until fd takes more (after EAGAIN on a non-blocking fd). Returns 0 or an errno. */
static int wait_writable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};

	for (;;) {
		if (poll(&pfd, 1, -1) >= 0)
			return 0;
		if (errno != EINTR)
			return errno;
	}
}

/*
 * After a failed write of the whole lines, off bytes of which made it: counts
 * the lines that made it whole, cuts a regular file back to the last of them,
 * and records the error. Nothing more is written.
 */
static void write_failed(struct history *h, size_t off, bool rewound, int e)
{
	size_t good = off;

	while (good > 0 && h->buf[good - 1] != '\n')
		good--;
	for (size_t i = 0; i < good; i++)
		h->file_lines += h->buf[i] == '\n';
	h->file_bytes += good;
	if (rewound && good == 0) {
		/* Padding may have overwritten the last line's '\n': put it back. */
		if (off > 0 && pwrite(h->fd, "\n", 1, h->base + (off_t)h->file_bytes) != 1) {
			/* Nothing more to do: a reader drops a last line without '\n'. */
		}
		h->file_bytes++;
		h->file_lines++;
	}
	if (good < off && h->base >= 0 && ftruncate(h->fd, h->base + (off_t)h->file_bytes) != 0) {
		/* As above. */
	}
	h->write_failed = true;
	fail(h,
	     "history %s: writing failed: %s; it holds the first %llu lines. Free some space "
	     "or write the history elsewhere",
	     h->name, e ? strerror(e) : "the write made no progress",
	     (unsigned long long)h->file_lines);
	h->len = h->whole = 0;
}

/*
 * Writes the whole lines at the front of buf, through EINTR, partial writes
 * and EAGAIN. Returns 0, or -1 when writing fails now or failed before.
 */
static int write_out(struct history *h)
{
	size_t off = 0;
	bool rewound = false;
	int rc = -1;

	if (h->write_failed)
		goto out;
	if (h->whole == 0) {
		rc = 0;
		goto out;
	}
	if (h->rewind) {
		/* buf starts with the padding that replaces the file's last '\n'. */
		h->rewind = false;
		h->file_bytes--;
		h->file_lines--;
		rewound = true;
		if (lseek(h->fd, h->base + (off_t)h->file_bytes, SEEK_SET) < 0) {
			write_failed(h, 0, rewound, errno);
			goto out;
		}
	}
	while (off < h->whole) {
		ssize_t w = write(h->fd, h->buf + off, h->whole - off);
		int e = w < 0 ? errno : 0;

		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (e == EINTR)
			continue;
		if ((e == EAGAIN || e == EWOULDBLOCK) && (e = wait_writable(h->fd)) == 0)
			continue;
		write_failed(h, off, rewound, e);
		goto out;
	}
	h->file_bytes += h->whole;
	h->file_lines = h->lines;
	memmove(h->buf, h->buf + h->whole, h->len - h->whole);
	h->len -= h->whole;
	h->whole = 0;
	rc = 0;
out:
	return rc;
}

struct history *history_open_fd(int fd, const char *name, char *err, size_t errlen)
{
	struct history *h = calloc(1, sizeof *h);
	bool ok = false;

	if (!h)
		goto out;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&h->lock, &attr);
	h->lockp = &h->lock;
	pthread_mutexattr_destroy(&attr);
	h->fd = fd;
	h->base = -1;
	h->cap = HISTORY_INITIAL_CAP;
	h->buf = malloc(h->cap);
	h->name = strdup(name ? name : "(fd)");
	if (!h->buf || !h->name)
		goto out;
	ok = true;
out:
	if (!ok) {
		snprintf(err, errlen, "history %s: out of memory", name ? name : "(fd)");
		if (h) {
			pthread_mutex_destroy(&h->lock);
			free(h->buf);
			free(h->name);
			free(h);
			h = NULL;
		}
	}
	return h;
}

struct history *history_open(const char *path, char *err, size_t errlen)
{
	struct history *h = NULL;
	struct stat st;
	int fd = -1;

	if (!path || !path[0]) {
		snprintf(err, errlen, "history: no file name given (use \"-\" for stdout)");
		goto out;
	}
	if (strcmp(path, "-") == 0) {
		h = history_open_fd(STDOUT_FILENO, "stdout", err, errlen);
		goto out;
	}
	fd = outfile_open(path, OUTFILE_MODE);
	if (fd < 0) {
		snprintf(err, errlen, "history %s: cannot create the file: %s%s", path,
		         strerror(-fd), fd == -ELOOP ? " (a symbolic link is not followed)" : "");
		fd = -1;
		goto out;
	}
	h = history_open_fd(fd, path, err, errlen);
	if (h) {
		/* Ours alone: lines can be aligned (align_line) and a failed write cut back. */
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			h->base = lseek(fd, 0, SEEK_CUR);
		h->own_fd = true;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return h;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	lock(h);
	write_out(h);
	unlock_line(h);
	unlock(h);
	pthread_mutex_destroy(&h->lock);
	if (h->own_fd)
		close(h->fd);
	free(h->buf);
	free(h->name);
	free(h);
}

int history_flush(struct history *h)
{
	int rc = 0;

	lock(h);
	if (write_out(h) != 0 || h->error[0])
		rc = -1;
	unlock(h);
	return rc;
}

const char *history_error(const struct history *h)
{
	const char *e;

	lock(h);
	e = h->error[0] ? h->error : NULL;
	unlock(h);
	return e;
}

double history_last_t(const struct history *h)
{
	double t;

	lock(h);
	t = h->last_t;
	unlock(h);
	return t;
}

uint64_t history_lines(const struct history *h)
{
	uint64_t n;

	lock(h);
	n = h->lines;
	unlock(h);
	return n;
}

/*
 * Whether a line of this type written during an operator's action is the
 * action's: not the traffic (query, route, lookup) nor what the run notes
 * on its own (version, stall, log, meta, end).
 */
static bool marked_type(const char *type)
{
	static const char *const traffic[] = {"query", "route", "lookup", "version", "stall",
	                                      "lost",  "log",   "meta",   "end",     NULL};
	for (size_t i = 0; traffic[i]; i++)
		if (strcmp(type, traffic[i]) == 0)
			return false;
	return true;
}

void history_set_manual(struct history *h, bool manual)
{
	if (!h)
		return;
	lock(h);
	h->manual = manual;
	unlock(h);
}

void history_begin(struct history *h, double t, const char *type)
{
	char num[FIXED_MAX];
	size_t n, tl;
	char *p;

	/* Once the lock is ours, line_locked is this thread's to read: a hold it already has. */
	lock(h);
	if (h->line_locked)
		unlock(h);
	else
		h->line_locked = true;
	if (h->state != HISTORY_IDLE) {
		misuse(h, "history_begin"); /* releases the line's hold, unless already dead */
		lock(h);
		unlock_line(h);
		unlock(h);
		return;
	}
	h->end_begun = strcmp(type, "end") == 0;
	h->mark_line = h->manual && marked_type(type);
	if (t > h->last_t)
		h->last_t = t;
	n = format_fixed(num, t, 6);
	tl = strlen(type);
	p = reserve(h, 5 + n + 9 + tl + 1);
	if (!p)
		return;
	memcpy(p, "{\"t\":", 5);
	p += 5;
	memcpy(p, num, n);
	p += n;
	memcpy(p, ",\"type\":\"", 9);
	p += 9;
	memcpy(p, type, tl);
	p += tl;
	*p++ = '"';
	h->len = (size_t)(p - h->buf);
	h->state = HISTORY_LINE;
}

void history_strn(struct history *h, const char *key, const char *value, size_t n)
{
	char *p;

	if (!value) {
		put_field(h, key, "null", 4, "history_strn");
		return;
	}
	p = field(h, key, 0, "history_strn");
	if (!p)
		return;
	h->len = (size_t)(p - h->buf);
	put_string(h, value, n);
}

void history_str(struct history *h, const char *key, const char *value)
{
	history_strn(h, key, value, value ? strlen(value) : 0);
}

void history_uint(struct history *h, const char *key, uint64_t v)
{
	char tmp[20];
	char *p = format_u64(tmp + sizeof tmp, v);

	put_field(h, key, p, (size_t)(tmp + sizeof tmp - p), "history_uint");
}

void history_int(struct history *h, const char *key, int64_t v)
{
	char tmp[21];
	/* The magnitude as unsigned: right for INT64_MIN too. */
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char *p = format_u64(tmp + sizeof tmp, mag);

	if (v < 0)
		*--p = '-';
	put_field(h, key, p, (size_t)(tmp + sizeof tmp - p), "history_int");
}

void history_double(struct history *h, const char *key, double v, int decimals)
{
	char num[FIXED_MAX];
	size_t n = format_fixed(num, v, decimals);

	put_field(h, key, num, n, "history_double");
}

void history_bool(struct history *h, const char *key, bool v)
{
	put_field(h, key, v ? "true" : "false", v ? 4 : 5, "history_bool");
}

void history_null(struct history *h, const char *key)
{
	put_field(h, key, "null", 4, "history_null");
}

void history_json(struct history *h, const char *key, const char *json, size_t n)
{
	put_field(h, key, json, n, "history_json");
}

void history_array_begin(struct history *h, const char *key)
{
	char *p = field(h, key, 1, "history_array_begin");

	if (!p)
		return;
	*p++ = '[';
	h->len = (size_t)(p - h->buf);
	h->state = HISTORY_ARRAY;
	h->array_first = true;
}

void history_elem_str(struct history *h, const char *value)
{
	char *p;

	if (h->state != HISTORY_ARRAY) {
		misuse(h, "history_elem_str");
		return;
	}
	p = reserve(h, 5);
	if (!p)
		return;
	if (!h->array_first)
		*p++ = ',';
	h->array_first = false;
	if (!value) {
		memcpy(p, "null", 4);
		h->len = (size_t)(p + 4 - h->buf);
		return;
	}
	h->len = (size_t)(p - h->buf);
	put_string(h, value, strlen(value));
}

void history_array_end(struct history *h)
{
	char *p;

	if (h->state != HISTORY_ARRAY) {
		misuse(h, "history_array_end");
		return;
	}
	p = reserve(h, 1);
	if (!p)
		return;
	*p = ']';
	h->len++;
	h->state = HISTORY_LINE;
}

/*
 * Linux checks for a fatal signal before copying each page of a write(2) to a
 * file and returns early, so SIGKILL can leave the first pages of a write in
 * the file and not the rest. That cut is harmless if no line straddles a page
 * boundary. So when the line just ended (buf from start to len) would, and
 * fits in a page, it is moved to the next boundary with spaces (JSON
 * whitespace) put before the previous line's '\n'. If that '\n' is already in
 * the file, buf takes it over: it starts with the spaces and the '\n', and
 * write_out writes them from the file's last byte on (h->rewind). Those bytes
 * lie in one page, so a kill writes them all or none.
 */
static void align_line(struct history *h, size_t start)
{
	size_t n = h->len - start;
	uint64_t pos, in_page;
	size_t pad, add, at;

	if (h->base < 0 || n > HISTORY_PAGE || (start == 0 && h->file_bytes == 0))
		return; /* too long, or no line of ours before it */
	pos = (uint64_t)h->base + h->file_bytes - (h->rewind ? 1 : 0) + start;
	in_page = pos % HISTORY_PAGE;
	if (in_page + n <= HISTORY_PAGE)
		return;
	pad = HISTORY_PAGE - (size_t)in_page;
	add = start > 0 ? pad : pad + 1;
	at = start > 0 ? start - 1 : 0;
	if (!reserve(h, add))
		return;
	memmove(h->buf + at + add, h->buf + at, h->len - at);
	memset(h->buf + at, ' ', pad);
	if (start == 0) {
		h->buf[pad] = '\n';
		h->rewind = true;
	}
	h->len += add;
}

/* history_end without the lock's release. Returns where the line starts in buf, or -1 if dropped. */
static long end_line(struct history *h)
{
	static const char mark[] = ",\"manual\":true";
	size_t start = h->whole;
	char *p;
	size_t m = h->mark_line ? sizeof mark - 1 : 0;

	if (h->state != HISTORY_LINE) {
		misuse(h, "history_end");
		return -1;
	}
	p = reserve(h, m + 2);
	if (!p)
		return -1;
	memcpy(p, mark, m);
	p[m] = '}';
	p[m + 1] = '\n';
	h->len += m + 2;
	align_line(h, h->whole);
	if (h->state != HISTORY_LINE)
		return -1; /* out of memory while aligning: the line is dropped */
	/* Padding, if any, went before the line: it starts at its '{'. */
	while (start < h->len && h->buf[start] != '{')
		start++;
	h->whole = h->len;
	h->lines++;
	h->state = HISTORY_IDLE;
	if (h->end_begun)
		h->ended = true;
	return (long)start;
}

void history_end(struct history *h)
{
	long start;

	lock(h); /* line_locked is read under the lock, even after a misuse */
	start = end_line(h);
	if (start >= 0 && h->tap)
		h->tap(h->tap_arg, h->buf + start, h->whole - (size_t)start);
	if (start >= 0 && h->whole >= HISTORY_FLUSH_BYTES)
		write_out(h);
	unlock_line(h);
	unlock(h);
}

void history_set_tap(struct history *h, history_tap_fn fn, void *arg)
{
	lock(h);
	h->tap = fn;
	h->tap_arg = arg;
	unlock(h);
}

int history_emergency_end(struct history *h, double t, const char *reason, const char *error,
                          double wait_s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)wait_s;
	ts.tv_nsec += (long)((wait_s - (double)(time_t)wait_s) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	h->closer = pthread_self();
	atomic_store_explicit(&h->closing, true, memory_order_release);
	if (pthread_mutex_timedlock(&h->lock, &ts) != 0)
		return -1;
	/* Held from now on: the caller ends the process, and no other line may follow. */
	if (h->state == HISTORY_DEAD)
		return -1;
	if (!h->ended) {
		/* The lock was free, so no line is open; the end line follows the last whole one. */
		h->len = h->whole;
		h->state = HISTORY_IDLE;
		history_begin(h, t, "end");
		history_str(h, "reason", reason);
		if (error)
			history_str(h, "error", error);
		history_uint(h, "lines", h->lines + 1);
		(void)end_line(h); /* not tapped: the process ends at once */
		unlock_line(h); /* the line's hold; the one taken above stays */
	}
	if (write_out(h) != 0 || h->error[0])
		return -1;
	return 0;
}
