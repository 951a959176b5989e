/*
 * clock.h - the one clock of the project (monotonic seconds) and seconds as
 * the struct timeval libevent wants. Shared by fakeresolver/ and harness/.
 */
#ifndef FAKERESOLVER_CLOCK_H
#define FAKERESOLVER_CLOCK_H

#include <sys/time.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double clock_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* s seconds (negative or NaN: 0) as a timeval, microseconds rounded down. */
static inline struct timeval clock_timeval(double s)
{
	struct timeval tv;
	if (!(s > 0))
		s = 0;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	return tv;
}

#endif
