/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench notify — the webhook sink's own bench (sinks/notify, library
 * wgmon_bench_notify): events followed and webhooks posted per second, beside
 * a bare libcurl loop. Built in when CMake found the library.
 */
#ifdef WGMON_BENCH_HAVE_NOTIFY
#include "bench/bench.h"

/* sinks/notify/bench_notify.c; its part has no header declaring it. */
int bench_notify_main(int argc, char **argv);

int bench_notify(int argc, char **argv)
{
	return bench_notify_main(argc, argv);
}
#endif
