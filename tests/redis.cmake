# wgmon-redis tests (label "redis"): a real redis-server per test on a free loopback port or a
# unix socket in a temp dir; test_redis_util.c holds the shared helpers (#included).
if(TARGET wgmon_redis AND TARGET wgmond AND TARGET wgmon)
  wgmon_criterion_test(test_redis SOURCES test_redis.c LIBS wgmon_redis wgmon_config
                       LABELS redis TIMEOUT 120)
  wgmon_criterion_test(test_redis_live SOURCES test_redis_live.c LIBS wgmon_redis wgmon_config
                       LABELS redis TIMEOUT 180)
  # They run wgmon (show --json), wgmond and wgmon-redis from the build tree.
  add_dependencies(test_redis wgmon)
  add_dependencies(test_redis_live wgmon wgmond wgmon-redis)
endif()
