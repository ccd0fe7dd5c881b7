# wgmond: the collector daemon (tools/wgmond.c over ingest/, shm/, parse/ and the config module).
if(TARGET wgmon_ingest AND TARGET wgmon_config)
  add_executable(wgmond ${CMAKE_CURRENT_LIST_DIR}/wgmond.c)
  target_link_libraries(wgmond PRIVATE wgmon_ingest wgmon_config wgmon_shm wgmon_parse)
endif()
