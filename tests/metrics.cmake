# sinks/metrics/ (wgmon-metrics): unit tests, the pool and the process under concurrency (label
# "tsan"), and the integration tests with the real wgmond, curl, promtool and Prometheus.
if(NOT TARGET wgmon_metrics_core)
  return()
endif()

# A plain program (Criterion cannot start under TSan, Criterion issue #274).
add_executable(test_metrics_pool test_metrics_pool.c)
target_link_libraries(test_metrics_pool PRIVATE wgmon_metrics_core)
add_dependencies(test_metrics_pool wgmon-metrics)
add_test(NAME test_metrics_pool COMMAND test_metrics_pool)
set_tests_properties(test_metrics_pool PROPERTIES TIMEOUT 120 LABELS "metrics;tsan"
                     ENVIRONMENT "WGMON_BIN=${CMAKE_BINARY_DIR}")
if(WGMON_SANITIZE STREQUAL "thread")
  return()
endif()

wgmon_criterion_test(test_metrics_render SOURCES test_metrics_render.c
                     LIBS wgmon_metrics_core TIMEOUT 60 LABELS metrics)
# The end-to-end tests replay the corpus with the real wgmond (test_metrics_util.c has the
# helpers both include).
if(NOT TARGET wgmond)
  return()
endif()
wgmon_criterion_test(test_metrics_http SOURCES test_metrics_http.c
                     LIBS wgmon_metrics_core TIMEOUT 300 LABELS metrics)
add_dependencies(test_metrics_http wgmon-metrics wgmond wgmon)
wgmon_criterion_test(test_metrics_prom SOURCES test_metrics_prom.c
                     LIBS wgmon_metrics_core TIMEOUT 300 LABELS metrics)
add_dependencies(test_metrics_prom wgmon-metrics wgmond)
