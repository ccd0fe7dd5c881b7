# Real-world fit (tests/test_rsyslog*.c, tests/test_example_reader.sh): a real rsyslogd in front
# of the real wgmond, `wgmon setup` against fake root file systems, and what `cmake --install`
# gives a machine (files, systemd units, the example reader built from the installed library).
# tests/fresh-machine.sh (a Debian 12 chroot) needs the package network: run it by hand.
if(NOT TARGET wgmond OR NOT TARGET wgmon_shm)
  return()
endif()
set(WGMON_RW_ENV "WGMON_SRC=${CMAKE_SOURCE_DIR}" "WGMON_BIN=${CMAKE_BINARY_DIR}"
    "WGMON_SHARED=${CMAKE_SOURCE_DIR}/../shared")
if(WGMON_SANITIZE STREQUAL "")
  list(APPEND WGMON_RW_ENV "WGMON_TEST_SLOW=1")
else()
  list(APPEND WGMON_RW_ENV "WGMON_TEST_SLOW=4")
endif()

foreach(t test_rsyslog test_rsyslog_setup)
  if(WGMON_SANITIZE STREQUAL "thread")
    # Criterion cannot start under TSan (issue #274): the same tests through a plain runner.
    add_executable(${t} ${t}.c)
    target_compile_definitions(${t} PRIVATE TW_PLAIN)
    add_test(NAME ${t} COMMAND ${t})
    set_tests_properties(${t} PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
  else()
    wgmon_criterion_test(${t} SOURCES ${t}.c TIMEOUT 300)
  endif()
  target_link_libraries(${t} PRIVATE wgmon_shm wgmon_parse)
  add_dependencies(${t} wgmond wgmon)
  set_tests_properties(${t} PROPERTIES LABELS "realworld" ENVIRONMENT "${WGMON_RW_ENV}")
endforeach()

# The compiler and sanitizer flags of this build, so the example reader links the libraries.
set(WGMON_RW_CFLAGS "")
if(WGMON_SANITIZE STREQUAL "address")
  set(WGMON_RW_CFLAGS "-fsanitize=address,undefined")
elseif(WGMON_SANITIZE STREQUAL "thread")
  set(WGMON_RW_CFLAGS "-fsanitize=thread")
endif()
if(WGMON_FUZZ)
  string(APPEND WGMON_RW_CFLAGS " -fsanitize=fuzzer-no-link")
endif()
foreach(mode install reader)
  set(t test_example_reader_${mode})
  add_test(NAME ${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_example_reader.sh ${mode})
  # Both run `cmake --install`, which writes install_manifest.txt in the build tree.
  set_tests_properties(${t} PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77 LABELS "realworld"
    RESOURCE_LOCK wgmon_install
    ENVIRONMENT "${WGMON_RW_ENV};WGMON_TEST_CC=${CMAKE_C_COMPILER};WGMON_TEST_CFLAGS=${WGMON_RW_CFLAGS}")
endforeach()
