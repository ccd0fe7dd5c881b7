/* SPDX-License-Identifier: MIT */
/*
 * bench_redis_tool.c — wgmon-bench-redis: runs bench_redis_main() on its own, until the lead
 * wires it into `wgmon-bench redis`. Same flags (see --help).
 */
#include "sinks/redis/redis.h"

int main(int argc, char **argv)
{
	return bench_redis_main(argc, argv);
}
