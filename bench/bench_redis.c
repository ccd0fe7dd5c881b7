/* SPDX-License-Identifier: MIT */
/*
 * wgmon-bench redis — the Redis sink's own bench (sinks/redis, library
 * wgmon_bench_redis): peer updates per second into a real redis-server,
 * beside a plain pipelined HSET loop. Built in when CMake found the library.
 */
#ifdef WGMON_BENCH_HAVE_REDIS
#include "bench/bench.h"
#include "sinks/redis/redis.h"

int bench_redis(int argc, char **argv)
{
	return bench_redis_main(argc, argv);
}
#endif
