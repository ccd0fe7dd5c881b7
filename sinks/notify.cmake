# wgmon-notify (sinks/notify/): webhooks on endpoint and state changes, with libcurl; bodies
# signed with HMAC-SHA256 from OpenSSL's libcrypto (Debian: libcurl4-openssl-dev, libssl-dev).
pkg_check_modules(NOTIFY_CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(NOTIFY_CRYPTO REQUIRED IMPORTED_TARGET libcrypto)
set(WGMON_NOTIFY_DIR ${CMAKE_CURRENT_LIST_DIR}/notify)

# The figures' reader (notify.h): no curl, for `wgmon stats` and wgmon-metrics.
add_library(wgmon_notify_stats STATIC ${WGMON_NOTIFY_DIR}/notify_stats.c)
target_link_libraries(wgmon_notify_stats PUBLIC rt)

add_library(wgmon_notify STATIC
  ${WGMON_NOTIFY_DIR}/notify_deliver.c ${WGMON_NOTIFY_DIR}/notify_follow.c
  ${WGMON_NOTIFY_DIR}/notify_log.c ${WGMON_NOTIFY_DIR}/notify_render.c
  ${WGMON_NOTIFY_DIR}/notify_route.c)
# wgmon_config is defined in tools/ (configured after sinks/): linked by name.
target_link_libraries(wgmon_notify PUBLIC wgmon_notify_stats wgmon_shm wgmon_config wgmon_parse
                      PkgConfig::NOTIFY_CURL PkgConfig::NOTIFY_CRYPTO Threads::Threads)

add_executable(wgmon-notify ${WGMON_NOTIFY_DIR}/notify_main.c)
target_link_libraries(wgmon-notify PRIVATE wgmon_notify)

# `wgmon-bench notify` (the lead wires bench_notify_main into wgmon-bench).
pkg_check_modules(NOTIFY_MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
add_library(wgmon_bench_notify STATIC ${WGMON_NOTIFY_DIR}/bench_notify.c)
target_link_libraries(wgmon_bench_notify PUBLIC wgmon_notify PkgConfig::NOTIFY_MHD)
