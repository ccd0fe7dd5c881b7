/* SPDX-License-Identifier: MIT */
/*
 * bench_driver.c — wgmon-metrics-bench: bench_metrics_main() on its own, for measuring
 * wgmon-metrics before (and besides) `wgmon-bench metrics`.
 */
#include "sinks/metrics/metrics.h"

int main(int argc, char **argv)
{
	return bench_metrics_main(argc, argv);
}
