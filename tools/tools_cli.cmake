# The reader subcommands' shared helpers (tools/tools_view.c) and the configuration module they
# read tenants and thresholds from: both become part of wgmon_cli.
target_sources(wgmon_cli PRIVATE ${CMAKE_CURRENT_LIST_DIR}/tools_view.c)
target_link_libraries(wgmon_cli PUBLIC wgmon_config)
