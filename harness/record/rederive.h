/*
 * rederive.h - a history's answer classes worked out again from the zone
 * versions it records, so that a verdict never rests on a class written in
 * the file: `dnschaos run` (after the run) and `dnschaos check` both judge
 * only a history whose every class this gives again.
 *
 * Each version line's file is loaded (a file that is gone, or no longer
 * holds those records, is refused), and the history is replayed in line
 * order into a fresh classifier: version lines make versions known, publish
 * lines publish them (by digest), and every completed lookup is classified
 * as the run classified it (harness/record/classify.h) and compared with its
 * recorded class and stale_records. It also records on each lookup whether
 * its answer could have been stale at all (hist_set_stale_possible).
 */
#ifndef HARNESS_RECORD_REDERIVE_H
#define HARNESS_RECORD_REDERIVE_H

#include <stddef.h>

struct hist;

/* Where a zone file named in a version line (relative to the scenario's folder) is. */
typedef void (*rederive_path_fn)(void *arg, const char *file, char *out, size_t cap);

/*
 * Re-derives every class of h (read from the file named name, for messages)
 * with the scenario's grace (seconds). Returns 0 when every recorded class is
 * the one the recorded versions give; -1 with "NAME:LINE: reason" in err
 * otherwise (a class that differs, a version's file missing or changed, a
 * publish without a digest); -2 on out of memory (err set).
 */
int rederive_classes(struct hist *h, const char *name, double grace, rederive_path_fn path,
                     void *arg, char *err, size_t errlen);

#endif
