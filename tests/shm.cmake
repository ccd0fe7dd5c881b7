# shm/: the table's unit tests, `wgmon show`/`wgmon stats`, and the concurrency tests
# (label "tsan": run them in a -DWGMON_SANITIZE=thread build).
wgmon_criterion_test(test_shm SOURCES test_shm.c LIBS wgmon_shm TIMEOUT 60 LABELS shm)
# test_shm_show #includes tools/cmd_show.c; its helpers come from wgmon_cli.
wgmon_criterion_test(test_shm_show SOURCES test_shm_show.c LIBS wgmon_shm wgmon_cli TIMEOUT 60 LABELS shm)

# A plain program (Criterion cannot start under TSan, Criterion issue #274). It includes
# shm/*.c itself, so that a reader can share the writer's mapping where TSan watches it.
add_executable(test_shm_concurrent test_shm_concurrent.c)
target_link_libraries(test_shm_concurrent PRIVATE wgmon_parse Threads::Threads rt)
add_test(NAME test_shm_concurrent COMMAND test_shm_concurrent)
set_tests_properties(test_shm_concurrent PROPERTIES TIMEOUT 120 LABELS "shm;tsan")
