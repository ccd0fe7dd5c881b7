# `cmake --install`: the tools (wgmon, wgmond), the reader library for third parties (headers,
# static libraries, pkg-config file), the systemd units and sysusers.d file, the files
# `wgmon setup` writes, the example configuration and the documentation. The sinks' programs
# and READMEs are installed by sinks/install.cmake. Layout (prefix /usr/local by default):
#   bin/                           wgmon wgmond wgmon-redis wgmon-metrics wgmon-notify
#   include/wgmon/{shm,parse}/     shm.h and the parse.h it includes
#   lib/libwgmon_{shm,parse}.a     the reader library; lib/pkgconfig/wgmon-shm.pc
#   lib/systemd/system/            wgmond.service wgmon-{redis,metrics,notify}.service
#   lib/sysusers.d/wgmon.conf      the wgmon user and group
#   share/doc/wgmon/               README.md, docs/*.md, example-reader.c, examples/ (config,
#                                  rsyslog, sysctl.d, modprobe.d, docker, prometheus, grafana)
# Programs still read /etc/wgmon/wgmon.conf: the example is not copied there (an install never
# overwrites an administrator's file; docs/deploy.md shows the one command that does it).
include(GNUInstallDirs)
option(WGMON_INSTALL_SYSTEMD "Install the systemd units and the sysusers.d file" ON)
option(WGMON_INSTALL_DEV "Install the shm reader library, its headers and pkg-config file" ON)
set(WGMON_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Unit directory, relative to the prefix (or absolute)")
set(WGMON_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
    "sysusers.d directory, relative to the prefix (or absolute)")

set(WGMON_INSTALL_ROOT ${CMAKE_SOURCE_DIR})
set(WGMON_DOC_DEST ${CMAKE_INSTALL_DOCDIR})
set(WGMON_EXAMPLES_DEST ${CMAKE_INSTALL_DOCDIR}/examples)

# The units name the installed programs: they are configured at install time, so that
# `cmake --install BUILD --prefix DIR` (and DESTDIR) give units that point into DIR.
function(wgmon_install_units)
  foreach(unit wgmond wgmon-redis wgmon-metrics wgmon-notify)
    set(src ${WGMON_INSTALL_ROOT}/deploy/systemd/${unit}.service.in)
    set(tmp ${CMAKE_BINARY_DIR}/deploy/systemd/${unit}.service)
    install(CODE "
      set(_bindir \"${CMAKE_INSTALL_BINDIR}\")
      set(_docdir \"${CMAKE_INSTALL_DOCDIR}\")
      set(_unitdir \"${WGMON_SYSTEMD_UNITDIR}\")
      foreach(_v _bindir _docdir _unitdir)
        if(NOT IS_ABSOLUTE \"\${\${_v}}\")
          set(\${_v} \"\${CMAKE_INSTALL_PREFIX}/\${\${_v}}\")
        endif()
      endforeach()
      set(WGMON_BINDIR \"\${_bindir}\")
      set(WGMON_DOCDIR \"\${_docdir}\")
      configure_file(\"${src}\" \"${tmp}\" @ONLY)
      file(INSTALL \"${tmp}\" DESTINATION \"\${_unitdir}\" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    " COMPONENT systemd)
  endforeach()
  install(FILES ${WGMON_INSTALL_ROOT}/deploy/sysusers.d/wgmon.conf
          DESTINATION ${WGMON_SYSUSERSDIR} COMPONENT systemd)
endfunction()

# The reader library: shm.h includes "parse/parse.h", so both go under include/wgmon/.
function(wgmon_install_dev)
  install(FILES ${WGMON_INSTALL_ROOT}/shm/shm.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/wgmon/shm COMPONENT dev)
  install(FILES ${WGMON_INSTALL_ROOT}/parse/parse.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/wgmon/parse COMPONENT dev)
  install(TARGETS wgmon_shm wgmon_parse ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          COMPONENT dev)
  # Relocatable: the paths are found from the .pc file's own place.
  file(RELATIVE_PATH up /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
  string(REGEX REPLACE "/$" "" up "${up}")
  file(WRITE ${CMAKE_BINARY_DIR}/wgmon-shm.pc
       "prefix=\${pcfiledir}/${up}\n"
       "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}/wgmon\n"
       "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}\n\n"
       "Name: wgmon-shm\n"
       "Description: reader library of wgmon's shared-memory peer table (ABI in shm/shm.h)\n"
       "Version: ${PROJECT_VERSION}\n"
       "Cflags: -I\${includedir}\n"
       "Libs: -L\${libdir} -lwgmon_shm -lwgmon_parse -lrt -pthread\n")
  install(FILES ${CMAKE_BINARY_DIR}/wgmon-shm.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endfunction()

function(wgmon_install_docs)
  install(FILES ${WGMON_INSTALL_ROOT}/README.md ${WGMON_INSTALL_ROOT}/LICENSE
          DESTINATION ${WGMON_DOC_DEST} COMPONENT doc)
  if(EXISTS ${WGMON_INSTALL_ROOT}/docs)
    install(DIRECTORY ${WGMON_INSTALL_ROOT}/docs/ DESTINATION ${WGMON_DOC_DEST} COMPONENT doc
            FILES_MATCHING PATTERN "*.md" PATTERN "example-reader.c")
  endif()
  install(FILES ${WGMON_INSTALL_ROOT}/deploy/wgmon.conf.example
          DESTINATION ${WGMON_EXAMPLES_DEST} COMPONENT doc)
  foreach(dir rsyslog sysctl.d modprobe.d docker prometheus grafana)
    if(EXISTS ${WGMON_INSTALL_ROOT}/deploy/${dir})
      install(DIRECTORY ${WGMON_INSTALL_ROOT}/deploy/${dir} DESTINATION ${WGMON_EXAMPLES_DEST}
              COMPONENT doc)
    endif()
  endforeach()
endfunction()

# Called at the end of tools/: wgmond (tools/wgmond.cmake) and the bench exist by then.
function(wgmon_install_tools)
  install(TARGETS wgmon RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
  if(TARGET wgmond)
    install(TARGETS wgmond RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
  endif()
  # The bench is for measuring a machine, not for running one: `--component bench` only.
  if(TARGET wgmon-bench)
    install(TARGETS wgmon-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT bench
            EXCLUDE_FROM_ALL)
  endif()
  if(WGMON_INSTALL_SYSTEMD)
    wgmon_install_units()
  endif()
  if(WGMON_INSTALL_DEV AND TARGET wgmon_shm)
    wgmon_install_dev()
  endif()
  wgmon_install_docs()
endfunction()
cmake_language(DEFER CALL wgmon_install_tools)
