# tools/config: unit tests (the test #includes config.c and the fuzz driver, so it links only
# libinih) and a replay of the fuzz corpus tests/fuzz/corpus/config through the driver.
if(TARGET wgmon_config)
  wgmon_criterion_test(test_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.c
                       LIBS PkgConfig::INIH TIMEOUT 30 LABELS config)
endif()
wgmon_fuzz_driver(config LIBS wgmon_config)
