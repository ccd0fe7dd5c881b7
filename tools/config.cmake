# The configuration module (tools/config.h): libinih frames the file, config.c does the rest.
# Programs link wgmon_config themselves (wgmon_cli does not).
pkg_check_modules(INIH REQUIRED IMPORTED_TARGET GLOBAL inih)
add_library(wgmon_config STATIC ${CMAKE_CURRENT_LIST_DIR}/config.c)
target_link_libraries(wgmon_config PUBLIC PkgConfig::INIH)
