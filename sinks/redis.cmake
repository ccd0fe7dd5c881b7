# wgmon-redis: the Redis sink (sinks/redis/). Libraries: wgmon_redis_stats (its figures object,
# no hiredis: for wgmon stats / wgmon-metrics), wgmon_redis (the engine), wgmon_bench_redis
# (bench_redis_main for wgmon-bench); programs: wgmon-redis and wgmon-bench-redis.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

set(WGMON_REDIS_DIR ${CMAKE_CURRENT_LIST_DIR}/redis)

add_library(wgmon_redis_stats STATIC ${WGMON_REDIS_DIR}/redis_stats.c)
target_link_libraries(wgmon_redis_stats PUBLIC rt)

set(WGMON_REDIS_SOURCES ${WGMON_REDIS_DIR}/redis.c ${WGMON_REDIS_DIR}/redis_log.c)

add_library(wgmon_redis STATIC ${WGMON_REDIS_SOURCES})
target_link_libraries(wgmon_redis PUBLIC wgmon_redis_stats wgmon_shm wgmon_config wgmon_parse
                      PkgConfig::HIREDIS)

add_executable(wgmon-redis ${WGMON_REDIS_DIR}/redis_main.c)
target_link_libraries(wgmon-redis PRIVATE wgmon_redis)

# The bench: a library for `wgmon-bench redis`, and a small program to run it alone.
add_library(wgmon_bench_redis STATIC ${WGMON_REDIS_DIR}/bench_redis.c)
target_link_libraries(wgmon_bench_redis PUBLIC wgmon_redis m)
add_executable(wgmon-bench-redis ${WGMON_REDIS_DIR}/bench_redis_tool.c)
target_link_libraries(wgmon-bench-redis PRIVATE wgmon_bench_redis)
