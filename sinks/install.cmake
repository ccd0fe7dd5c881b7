# `cmake --install` of the sinks: wgmon-redis, wgmon-metrics and wgmon-notify into bin/, each
# README into share/doc/wgmon/sinks/<name>.md, and the sinks' bench drivers under the "bench"
# component only. The units, the reader library and the rest: tools/install.cmake.
include(GNUInstallDirs)

# The sinks' targets are defined by the sinks/*.cmake files after this one (the glob is in
# alphabetical order): install them once the whole folder has been read.
function(wgmon_install_sinks)
  foreach(sink redis metrics notify)
    if(TARGET wgmon-${sink})
      install(TARGETS wgmon-${sink} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
              COMPONENT runtime)
    endif()
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${sink}/README.md)
      install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/${sink}/README.md
              DESTINATION ${CMAKE_INSTALL_DOCDIR}/sinks RENAME ${sink}.md COMPONENT doc)
    endif()
  endforeach()
  foreach(bench wgmon-bench-redis wgmon-metrics-bench)
    if(TARGET ${bench})
      install(TARGETS ${bench} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bench
              EXCLUDE_FROM_ALL)
    endif()
  endforeach()
endfunction()
cmake_language(DEFER CALL wgmon_install_sinks)
