# wgmon-metrics: the table as Prometheus metrics (sinks/metrics/, series in docs/metrics.md).
pkg_check_modules(METRICS_MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(METRICS_ZLIB REQUIRED IMPORTED_TARGET zlib)
set(METRICS_DIR ${CMAKE_CURRENT_LIST_DIR}/metrics)

add_library(wgmon_metrics_core STATIC
  ${METRICS_DIR}/render.c ${METRICS_DIR}/snapshot.c ${METRICS_DIR}/http.c
  ${METRICS_DIR}/stats.c ${METRICS_DIR}/sinks.c ${METRICS_DIR}/log.c)
target_link_libraries(wgmon_metrics_core PUBLIC wgmon_shm wgmon_parse wgmon_config
                      PkgConfig::METRICS_MHD PkgConfig::METRICS_ZLIB Threads::Threads)

# The other sinks' figures, read with their stats-only libraries when they are in the tree
# (those targets are defined after this file: linked by name).
foreach(sink redis notify)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${sink}/${sink}_stats.c)
    string(TOUPPER ${sink} SINK)
    target_link_libraries(wgmon_metrics_core PUBLIC wgmon_${sink}_stats)
    target_compile_definitions(wgmon_metrics_core PRIVATE METRICS_HAVE_${SINK}_STATS)
  endif()
endforeach()


add_executable(wgmon-metrics ${METRICS_DIR}/main.c)
target_link_libraries(wgmon-metrics PRIVATE wgmon_metrics_core)

# `wgmon-bench metrics`: bench_metrics_main(), and a stand-alone driver of it.
add_library(wgmon_bench_metrics STATIC ${METRICS_DIR}/bench_metrics.c)
target_link_libraries(wgmon_bench_metrics PUBLIC wgmon_metrics_core)
add_executable(wgmon-metrics-bench ${METRICS_DIR}/bench_driver.c)
target_link_libraries(wgmon-metrics-bench PRIVATE wgmon_bench_metrics)
