# ingest/ and wgmond: unit tests of the lane, splitting, worker choice and allow-list; the real
# wgmond end to end; and wgmond-udp-bench (the UDP ingest figure; its --quick mode runs here).
if(NOT TARGET wgmon_ingest OR NOT TARGET wgmond)
  return()
endif()
# ck_ring orders with plain fences TSan cannot see; only ck_* frames are suppressed.
set(WGMON_INGEST_ENV "TSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tsan.supp")
if(WGMON_SANITIZE STREQUAL "")
  list(APPEND WGMON_INGEST_ENV "WGMON_TEST_SLOW=1")
else()
  list(APPEND WGMON_INGEST_ENV "WGMON_TEST_SLOW=4") # every bounded wait, 4x longer
endif()

if(WGMON_SANITIZE STREQUAL "thread")
  # Criterion cannot start under TSan (issue #274): the same tests through a plain runner.
  foreach(t test_ingest test_wgmond)
    add_executable(${t} ${t}.c)
    target_compile_definitions(${t} PRIVATE TW_PLAIN)
    add_test(NAME ${t} COMMAND ${t})
    set_tests_properties(${t} PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77 LABELS "wgmond;tsan"
      ENVIRONMENT "WGMON_SRC=${CMAKE_SOURCE_DIR};WGMON_BIN=${CMAKE_BINARY_DIR};WGMON_SHARED=${CMAKE_SOURCE_DIR}/../shared")
  endforeach()
else()
  wgmon_criterion_test(test_ingest SOURCES test_ingest.c TIMEOUT 60 LABELS "wgmond;tsan")
  wgmon_criterion_test(test_wgmond SOURCES test_wgmond.c TIMEOUT 300 LABELS "wgmond;tsan")
endif()
target_link_libraries(test_ingest PRIVATE wgmon_ingest)
target_link_libraries(test_wgmond PRIVATE wgmon_shm wgmon_parse)
add_dependencies(test_wgmond wgmond wgmon)

add_executable(wgmond-udp-bench test_wgmond_bench.c)
target_link_libraries(wgmond-udp-bench PRIVATE wgmon_shm wgmon_parse Threads::Threads)
add_dependencies(wgmond-udp-bench wgmond)
add_test(NAME wgmond_udp_bench_quick COMMAND wgmond-udp-bench --quick)
set_tests_properties(wgmond_udp_bench_quick PROPERTIES TIMEOUT 120 LABELS "wgmond"
  ENVIRONMENT "WGMON_BIN=${CMAKE_BINARY_DIR};WGMON_SHARED=${CMAKE_SOURCE_DIR}/../shared")
foreach(t test_ingest test_wgmond wgmond_udp_bench_quick)
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT ${WGMON_INGEST_ENV})
endforeach()
