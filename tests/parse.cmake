# parse/: unit tests, the shared corpus through `wgmon parse`, and the fuzz corpus replayed.
wgmon_criterion_test(test_parse SOURCES test_parse.c LIBS wgmon_parse TIMEOUT 60 LABELS parse)
wgmon_criterion_test(test_corpus SOURCES test_corpus.c TIMEOUT 60 LABELS parse)
add_dependencies(test_corpus wgmon)

# Every fuzz driver: a replay binary (any compiler, runs in every test run) and, with
# -DWGMON_FUZZ=ON under clang, a libFuzzer binary run for a bounded time (label "fuzz").
set(WGMON_FUZZ_SECONDS 60 CACHE STRING "Seconds each libFuzzer driver runs under the fuzz label")
function(wgmon_fuzz_driver name)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
  add_executable(fuzz_${name}_replay fuzz/fuzz_${name}.c fuzz/replay.c)
  target_link_libraries(fuzz_${name}_replay PRIVATE ${F_LIBS})
  add_test(NAME fuzz_${name}_replay COMMAND fuzz_${name}_replay ${corpus})
  set_tests_properties(fuzz_${name}_replay PROPERTIES TIMEOUT 60 LABELS "fuzz-replay")
  if(WGMON_FUZZ)
    add_executable(fuzz_${name} fuzz/fuzz_${name}.c)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS} -fsanitize=fuzzer)
    add_test(NAME fuzz_${name}
             COMMAND fuzz_${name} -max_total_time=${WGMON_FUZZ_SECONDS} -rss_limit_mb=2048
                     -max_len=8192 -print_final_stats=1 ${CMAKE_CURRENT_BINARY_DIR}/fuzz-${name} ${corpus})
    set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 900 LABELS "fuzz")
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-${name})
  endif()
endfunction()
wgmon_fuzz_driver(parse LIBS wgmon_parse)
