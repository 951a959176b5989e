/*
 * standalone_main.c - replays inputs through a fuzz target without libFuzzer,
 * so any compiler can run the seed corpora (and past crashes) as a regression
 * test: each argument is a file, or a directory whose regular files are run
 * in name order.
 *
 * Each input goes into an exactly-sized heap copy, as libFuzzer does, so an
 * ASan build catches reads past its end. A failing input aborts in the
 * target; its name is printed first.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file into an exactly-sized buffer. Returns 0 or -1 (errno set). */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
	int rc = -1;
	uint8_t *buf = NULL;
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	if (fstat(fileno(f), &st) != 0)
		goto out;
	/* malloc(0) may return NULL: keep one octet, report size 0. */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		goto out;
	if (st.st_size && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		errno = EIO;
		goto out;
	}
	*data = buf;
	*size = (size_t)st.st_size;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t size;
	if (read_file(path, &data, &size) != 0) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "running %s (%zu octets)\n", path, size);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the regular files of a directory in name order; returns how many, or -1. */
static int run_dir(const char *dir)
{
	int rc = -1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: cannot open: %s\n", dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **p = realloc(names, ncap * sizeof *p);
			if (!p) {
				fprintf(stderr, "%s: out of memory\n", dir);
				goto out;
			}
			names = p;
			cap = ncap;
		}
		size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
		if (!(names[n] = malloc(len))) {
			fprintf(stderr, "%s: out of memory\n", dir);
			goto out;
		}
		snprintf(names[n++], len, "%s/%s", dir, e->d_name);
	}
	qsort(names, n, sizeof *names, cmp_names);
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(names[i]) != 0)
			goto out;
		count++;
	}
	rc = count;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
		        "usage: %s FILE|DIR...\n"
		        "Runs each input through the fuzz target once.\n",
		        argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	int total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			n = run_dir(argv[i]);
		else
			n = run_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "no inputs found: an empty corpus tests nothing\n");
		return 1;
	}
	fprintf(stderr, "%d inputs ran without a failure\n", total);
	return 0;
}
