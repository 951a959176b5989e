/*
 * history.h - the run's history: one JSON object per line (JSONL), streamed as
 * the run goes. The format and the event types are in docs/history.md.
 *
 * A line is built with history_begin, any number of fields, then history_end;
 * only history_end makes it part of the output. The writer keeps its own buffer
 * holding whole lines only and write(2)s it once it passes HISTORY_FLUSH_BYTES
 * and on every history_flush, so a killed run leaves whole lines in the file
 * (all but at most the last line; see docs/history.md, "Killed runs").
 *
 * Single-threaded: every call for one history comes from the same thread,
 * except history_emergency_end, which another thread may call at any time: a
 * recursive lock is held from history_begin to history_end and around every
 * other call, so it never sees half a line.
 * Numbers are formatted by hand (no printf on the hot path). Keys and type
 * names are trusted literals and are written as they are; string values are
 * escaped per RFC 8259, and bytes that are not valid UTF-8 become U+FFFD.
 *
 * Errors are sticky: the first one (a failed write, a line over
 * HISTORY_LINE_MAX, a call out of order) is kept for history_error, every
 * later line is dropped, and history_flush returns -1 from then on. Whole
 * lines buffered before the error are still written unless writing is what
 * failed. After a failed write, a regular file is cut back to its last whole
 * line.
 */
#ifndef HARNESS_RECORD_HISTORY_H
#define HARNESS_RECORD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The buffered whole lines are written once they pass this many bytes. */
#define HISTORY_FLUSH_BYTES (64 * 1024)
/* A line longer than this is refused (an error; see above). */
#define HISTORY_LINE_MAX (16 * 1024 * 1024)
/* history_double writes at most this many decimals. */
#define HISTORY_DECIMALS_MAX 9

struct history;

/*
 * Creates the file at path, mode 0600 (OUTFILE_MODE, whatever the umask), or
 * truncates an existing one, which keeps its mode; a symbolic link at path is
 * refused, never followed (outfile_open); "-" writes to stdout (which
 * history_close leaves open). In a regular file, no line
 * under 4 KiB straddles a 4 KiB boundary (spaces pad the line before it), so
 * that a write cut short by SIGKILL still leaves whole lines. Returns NULL
 * with the reason, naming the path, in err.
 */
struct history *history_open(const char *path, char *err, size_t errlen);

/*
 * Writes to fd, which stays the caller's (history_close does not close it).
 * The fd is written as a stream: lines are not aligned to pages and a failed
 * write is not cut back, as for stdout. name is used in error messages only
 * and is copied. Returns NULL with the reason in err (out of memory).
 */
struct history *history_open_fd(int fd, const char *name, char *err, size_t errlen);

/*
 * Writes the buffered whole lines, closes the file (unless it was stdout or
 * came from history_open_fd) and frees h. A line begun and not ended is lost.
 * Call history_flush first to learn whether everything made it. NULL is a no-op.
 */
void history_close(struct history *h);

/*
 * Writes every buffered whole line (a line in progress stays buffered).
 * Retries on EINTR and partial writes, and waits on EAGAIN. Returns 0, or -1
 * once any error has happened (see history_error).
 */
int history_flush(struct history *h);

/* The first error, or NULL if none yet. Owned by h, valid until history_close. */
const char *history_error(const struct history *h);

/*
 * Ends the history from any thread (the watchdog's): waits up to wait_s
 * seconds for the lock (the writing thread holds it only while it builds a
 * line), then, unless an `end` line was already completed, adds
 * {"t":t,"type":"end","reason":reason,"error":error,"lines":N} after the last
 * whole line and writes every buffered line. The lock is never released: the
 * caller must end the process at once (_exit). From the call on, every other
 * thread blocks at its next call for good, so that a writer releasing and
 * taking the lock back at once cannot keep the ender out. error may be NULL. Returns 0, or -1 if the lock was not
 * had in time or the history failed (it then keeps its whole lines only).
 */
int history_emergency_end(struct history *h, double t, const char *reason, const char *error,
			  double wait_s);

/*
 * A tap: fn(arg, line, len) is called with each line completed by
 * history_end (its bytes from '{' to its '\n' included, without the spaces
 * that may pad it; borrowed for the call), in the order of the file, on the
 * thread that ended the line and under the writer's lock: it must not call
 * back into h, block, or take a lock that a thread holding h's lock could
 * wait for. Every line comes from the loop thread today (the header's
 * rule); the lock makes a tap safe for a line from another thread too.
 * history_emergency_end's `end` line (the watchdog's, the process about to
 * _exit) is not tapped, nor is a line dropped by an error. One tap at a
 * time: setting another replaces it; fn NULL removes it.
 */
typedef void (*history_tap_fn)(void *arg, const char *line, size_t len);
void history_set_tap(struct history *h, history_tap_fn fn, void *arg);

/*
 * The largest t a line was begun with (0 before the first): a writer whose
 * event happened a little before it learnt of it (a remote daemon's query)
 * writes no earlier than this, so that t never decreases.
 */
double history_last_t(const struct history *h);

/* Lines completed with history_end so far (written or still buffered). */
uint64_t history_lines(const struct history *h);

/*
 * While manual is true, every line begun (but the traffic and the run's own
 * notes: query, route, lookup, version, stall, lost, log, meta, end) ends with
 * "manual":true: the lines an operator's action writes (docs/history.md).
 * The control socket sets it around run_act. NULL is a no-op.
 */
void history_set_manual(struct history *h, bool manual);

/*
 * Starts a line: {"t":12.345678,"type":"query" (t in seconds with 6 decimals,
 * type a trusted literal). Beginning a line while another is open is an error.
 */
void history_begin(struct history *h, double t, const char *type);

/*
 * Fields of the open line. key is a trusted literal (not escaped); string
 * values are borrowed and escaped, and NULL writes null. A field outside a
 * line, or inside an array, is an error.
 */
void history_str(struct history *h, const char *key, const char *value);
/* n bytes of value; NUL bytes are written as \u0000. */
void history_strn(struct history *h, const char *key, const char *value, size_t n);
void history_int(struct history *h, const char *key, int64_t v);
void history_uint(struct history *h, const char *key, uint64_t v);
/*
 * Fixed point with decimals digits after the point (clamped to
 * 0..HISTORY_DECIMALS_MAX), rounded half away from zero; never an exponent.
 * NaN and infinities write null.
 */
void history_double(struct history *h, const char *key, double v, int decimals);
void history_bool(struct history *h, const char *key, bool v);
void history_null(struct history *h, const char *key);
/*
 * A value the caller wrote as JSON text (n bytes: an object, an array, a
 * number, ...; strings in it escaped with json_escape's JSON_ESC_PLAIN, numbers
 * fixed point). Written as it is: the caller vouches for it.
 */
void history_json(struct history *h, const char *key, const char *json, size_t n);

/* An array of strings: history_array_begin, history_elem_str..., history_array_end. */
void history_array_begin(struct history *h, const char *key);
/* One element, escaped like history_str (NULL writes null). */
void history_elem_str(struct history *h, const char *value);
void history_array_end(struct history *h);

/*
 * Ends the line and makes it part of the output; writes the buffer if it has
 * passed HISTORY_FLUSH_BYTES. An array still open is an error.
 */
void history_end(struct history *h);

#endif
