/*
 * env.c - the parts of struct run_env that are not a field read: messages,
 * failure, loopback addresses, defaults.
 */
#include "harness/env.h"
#include "fakeresolver/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void env_init(struct run_env *e)
{
	memset(e, 0, sizeof *e);
	e->clock = clock_mono;
	e->next_id = 1;
	e->next_lookup = 1;
	e->next_addr = 10;
	e->seed = 1;
}

void env_fail(struct run_env *e, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (e->ops && e->ops->fail)
		e->ops->fail(e->ctx, msg);
}

void env_say(const struct run_env *e, const char *fmt, ...)
{
	if (!e->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%8.3f] ", env_now(e));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int env_next_address(struct run_env *e, char *out, size_t cap)
{
	if (e->next_addr > 250)
		return -1;
	snprintf(out, cap, "127.%u.0.%u", e->addr_block, e->next_addr++);
	return 0;
}
