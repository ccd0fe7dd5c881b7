# bench/: a smoke run of `wgmon-bench all --quick --json` (label "bench"): it must exit 0 and
# print one JSON object that parses and has every figure of issue 8 (median, _min and _max).
# The timings themselves are not asserted. This file is both the registration (included by
# tests/CMakeLists.txt) and the check (run as `cmake -DWGMON_BENCH=… -P tests/bench.cmake`).
set(WGMON_BENCH_KEYS
    parse_lines_per_sec pipeline_lines_per_sec_1w pipeline_lines_per_sec_nw
    udp_lossfree_per_sec udp_limit_per_sec udp_ratio latency_p50_us latency_p99_us
    latency_p999_us table_bytes_per_peer)
set(WGMON_BENCH_SCAN_PEERS 10000 100000 1000000)

if(CMAKE_SCRIPT_MODE_FILE)
  # ---- the check ----
  execute_process(COMMAND ${WGMON_BENCH} all --quick --json
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "wgmon-bench all --quick --json exited with ${rc}:\n${err}\n${out}")
  endif()
  string(JSON bench ERROR_VARIABLE jerr GET "${out}" bench)
  if(jerr OR NOT bench STREQUAL "all")
    message(FATAL_ERROR "not one JSON object of bench \"all\" (${jerr}):\n${out}")
  endif()
  foreach(key ${WGMON_BENCH_KEYS})
    foreach(suffix "" _min _max)
      string(JSON type ERROR_VARIABLE jerr TYPE "${out}" ${key}${suffix})
      if(jerr OR NOT type STREQUAL "NUMBER")
        message(FATAL_ERROR "\"${key}${suffix}\" missing or not a number (${jerr}):\n${out}")
      endif()
    endforeach()
  endforeach()
  foreach(suffix "" _min _max)
    foreach(peers ${WGMON_BENCH_SCAN_PEERS})
      string(JSON type ERROR_VARIABLE jerr TYPE "${out}" scan_ms${suffix} ${peers})
      if(jerr OR NOT type STREQUAL "NUMBER")
        message(FATAL_ERROR "\"scan_ms${suffix}\".\"${peers}\" missing (${jerr}):\n${out}")
      endif()
    endforeach()
  endforeach()
  string(JSON runs GET "${out}" info runs)
  if(runs LESS 3)
    message(FATAL_ERROR "figures must be medians of at least 3 runs, got ${runs}")
  endif()
  message(STATUS "wgmon-bench all --quick --json: every key present")
  return()
endif()

# ---- the registration ----
if(NOT TARGET wgmon-bench)
  return()
endif()
# wgmon-bench measures the real wgmond (a child process): building one builds the other.
if(TARGET wgmond)
  add_dependencies(wgmon-bench wgmond)
endif()
if(CMAKE_VERSION VERSION_LESS 3.19)
  message(STATUS "bench smoke test skipped: its JSON check needs CMake >= 3.19 (string(JSON))")
  return()
endif()
set(WGMON_BENCH_TIMEOUT 60)
if(NOT WGMON_SANITIZE STREQUAL "")
  set(WGMON_BENCH_TIMEOUT 600) # the same run, under a sanitizer: only correctness counts
endif()
add_test(NAME wgmon_bench_all_quick
         COMMAND ${CMAKE_COMMAND} -DWGMON_BENCH=$<TARGET_FILE:wgmon-bench>
                 -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(wgmon_bench_all_quick PROPERTIES TIMEOUT ${WGMON_BENCH_TIMEOUT}
  LABELS "bench" RUN_SERIAL TRUE
  ENVIRONMENT "WGMON_BIN=${CMAKE_BINARY_DIR};TSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/tsan.supp")
