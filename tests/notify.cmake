# sinks/notify: payloads, delivery against real loopback receivers (libmicrohttpd, in the test)
# and the follower on private tables (test_notify); wgmond + wgmon-notify end to end
# (test_notify_e2e). Both #include test_notify_recv.c, the receiver.
if(TARGET wgmon_notify)
  pkg_check_modules(NOTIFY_TEST_MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
  wgmon_criterion_test(test_notify SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_notify.c
                       LIBS wgmon_notify PkgConfig::NOTIFY_TEST_MHD TIMEOUT 120 LABELS notify)
  if(TARGET wgmond)
    wgmon_criterion_test(test_notify_e2e SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_notify_e2e.c
                         LIBS wgmon_notify PkgConfig::NOTIFY_TEST_MHD TIMEOUT 180 LABELS notify)
    add_dependencies(test_notify_e2e wgmond wgmon-notify)
  endif()
endif()
# The threads under ThreadSanitizer: a plain program (Criterion cannot start under TSan).
# Run the "tsan" label in a -DWGMON_SANITIZE=thread build; it runs (fast) in every build.
if(TARGET wgmon_notify)
  add_executable(test_notify_tsan ${CMAKE_CURRENT_LIST_DIR}/test_notify_tsan.c)
  target_link_libraries(test_notify_tsan PRIVATE wgmon_notify PkgConfig::NOTIFY_TEST_MHD)
  add_test(NAME test_notify_tsan COMMAND test_notify_tsan)
  set_tests_properties(test_notify_tsan PROPERTIES TIMEOUT 120 LABELS "notify;tsan"
                       ENVIRONMENT "WGMON_BIN=${CMAKE_BINARY_DIR}")
endif()
