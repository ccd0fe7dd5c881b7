/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench metrics — the Prometheus sink's own bench (sinks/metrics,
 * library wgmon_bench_metrics): /metrics render time and size at 10 k, 100 k
 * and 1 M peers. Built in when CMake found the library.
 */
#ifdef WGMON_BENCH_HAVE_METRICS
#include "bench/bench.h"
#include "sinks/metrics/metrics.h"

int bench_metrics(int argc, char **argv)
{
	return bench_metrics_main(argc, argv);
}
#endif
