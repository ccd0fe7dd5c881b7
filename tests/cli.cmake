# tools/: the reader subcommands (show, watch, events, doctor). Unit tests against a table
# written through the writer API, scenario tests (kernel lines from tests/scenarios/ replayed
# into a real wgmond), and `wgmon watch` under tmux. The subcommands are single-threaded: the
# TSan build (where Criterion cannot start) leaves these to the other builds.
if(NOT TARGET wgmon_cli OR NOT TARGET wgmond OR WGMON_SANITIZE STREQUAL "thread")
  return()
endif()
if(WGMON_SANITIZE STREQUAL "")
  set(WGMON_CLI_ENV "WGMON_TEST_SLOW=1")
else()
  set(WGMON_CLI_ENV "WGMON_TEST_SLOW=4")
endif()

wgmon_criterion_test(test_cli_view SOURCES test_cli_view.c LIBS wgmon_cli TIMEOUT 60 LABELS cli)

wgmon_criterion_test(test_cli_scenarios SOURCES test_cli_scenarios.c LIBS wgmon_shm wgmon_parse
                     TIMEOUT 120 LABELS "cli;wgmond")
add_dependencies(test_cli_scenarios wgmond wgmon)

wgmon_criterion_test(test_cli_watch SOURCES test_cli_watch.c LIBS wgmon_shm wgmon_parse
                     TIMEOUT 60 LABELS "cli;wgmond")
add_dependencies(test_cli_watch wgmond wgmon)
foreach(t test_cli_view test_cli_scenarios test_cli_watch)
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT ${WGMON_CLI_ENV})
endforeach()
