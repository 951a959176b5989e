/*
 * outfile.h - creating the files dnschaos writes (the history, the JUnit and
 * JSON reports, the HTML report and its directory): never through a symbolic
 * link, and with the mode asked for (OUTFILE_MODE by default, `--umask`
 * otherwise), whatever the process umask, since a history can hold what a
 * scenario's commands printed.
 */
#ifndef HARNESS_RECORD_OUTFILE_H
#define HARNESS_RECORD_OUTFILE_H

#include <stddef.h>

/* The mode of a file dnschaos creates unless asked otherwise (--umask 077). */
#define OUTFILE_MODE 0600u

/* The file mode a --umask MASK gives: 0666 & ~MASK. */
unsigned outfile_mode_from_umask(unsigned mask);

/* The mode of a directory created for files of mode mode: x wherever r (0600 -> 0700). */
unsigned outfile_dir_mode(unsigned mode);

/*
 * Opens path for writing from its start. A file that does not exist is
 * created with exactly mode (0 means OUTFILE_MODE); an existing regular file
 * is truncated and keeps its mode; an existing device or FIFO is opened as it
 * is, without blocking on a FIFO that has no reader (that is an error,
 * ENXIO). A symbolic link at path is refused (ELOOP), never followed. The fd
 * is close-on-exec and blocking. Returns the fd, or -errno.
 */
int outfile_open(const char *path, unsigned mode);

/*
 * Checks, creating nothing, that outfile_open(path) can be expected to work:
 * path is not a symbolic link nor a directory; an existing file is writable,
 * else its directory exists and is writable. "-" (stdout) passes. Returns 0,
 * or -errno with the reason in err ("PATH: ...").
 */
int outfile_check(const char *path, char *err, size_t errlen);

/*
 * mkdir -p: creates every missing directory of dir with mode dir_mode
 * (exactly), and checks the last one is a directory. Returns 0, or -1 with
 * the reason in err.
 */
int outfile_mkdirs(const char *dir, unsigned dir_mode, char *err, size_t errlen);

/*
 * A temporary file beside final (same directory, so a rename replaces final
 * at once): mkstemp on "DIR/.NAME.XXXXXX", which creates it exclusively (a
 * symbolic link planted there is never followed), then mode (0 means
 * OUTFILE_MODE). tmp (tmplen octets) receives its path. Returns the fd, or
 * -errno.
 */
int outfile_temp(const char *final, unsigned mode, char *tmp, size_t tmplen);

#endif
