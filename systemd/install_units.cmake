# Runs at `cmake --install` time (install(SCRIPT) from systemd/CMakeLists.txt), so the prefix
# given there is the one the units name. Writes the units and the example config under
# $DESTDIR. An existing config file is kept: a reinstall never overwrites an operator's edits.
# Inputs (set by the install(CODE) before it): TB_SOURCE_DIR, TB_WORK_DIR, TB_BINDIR,
# TB_SYSCONFDIR, TB_UNIT_DIR.
cmake_policy(VERSION 3.25)

# Absolute install directory for `dir` (relative to the prefix unless absolute). As
# GNUInstallDirs does, the prefix /usr keeps its config in /etc, not /usr/etc.
function(tb_full_dir out dir kind)
  if(IS_ABSOLUTE "${dir}")
    set(full "${dir}")
  elseif(kind STREQUAL "sysconf" AND CMAKE_INSTALL_PREFIX MATCHES "^/usr/?$")
    set(full "/${dir}")
  else()
    set(full "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
  string(REGEX REPLACE "/+" "/" full "${full}")
  set(${out} "${full}" PARENT_SCOPE)
endfunction()

tb_full_dir(TB_BINDIR "${TB_BINDIR}" bin)
tb_full_dir(TB_SYSCONFDIR "${TB_SYSCONFDIR}" sysconf)
tb_full_dir(unit_dir "${TB_UNIT_DIR}" unit)
set(etc_dir "${TB_SYSCONFDIR}/tradebus")
set(destdir "$ENV{DESTDIR}")

# Copies `file` into `dest` (file(INSTALL) prepends $DESTDIR itself and records the file in
# install_manifest.txt; a macro, so that record reaches the script's scope).
macro(tb_install file dest keep_existing)
  get_filename_component(tb_name "${file}" NAME)
  if(${keep_existing} AND EXISTS "${destdir}${dest}/${tb_name}")
    message(STATUS "Keeping existing: ${destdir}${dest}/${tb_name}")
  else()
    file(INSTALL DESTINATION "${dest}" TYPE FILE FILES "${file}")
  endif()
endmacro()

# tradebus.target wants a tradebus-node@<name> per [pipeline.<name>] table of the shipped
# config/broker.toml, in its order: the default pipeline is written once, there.
file(STRINGS "${TB_SOURCE_DIR}/config/broker.toml" tb_tables
     REGEX "^\\[pipeline\\.[a-z0-9_-]+\\][ \t]*(#.*)?$")
set(tb_wants "")
foreach(tb_table IN LISTS tb_tables)
  string(REGEX REPLACE "^\\[pipeline\\.([a-z0-9_-]+)\\].*" "\\1" tb_name "${tb_table}")
  list(APPEND tb_wants "Wants=tradebus-node@${tb_name}.service")
endforeach()
if(NOT tb_wants)
  message(FATAL_ERROR "config/broker.toml: no [pipeline.<name>] table for tradebus.target")
endif()
list(JOIN tb_wants "\n" TB_NODE_WANTS)

# Units: @TB_BINDIR@, @TB_SYSCONFDIR@ and @TB_NODE_WANTS@ replaced.
foreach(unit tradebus-broker.service tradebus-node@.service tradebus.target)
  configure_file("${TB_SOURCE_DIR}/systemd/${unit}.in" "${TB_WORK_DIR}/units/${unit}" @ONLY)
  tb_install("${TB_WORK_DIR}/units/${unit}" "${unit_dir}" FALSE)
endforeach()

# Config: the repository's config/ (the one-host pipeline the README's main job runs from the
# repository root), with its two repository-relative paths made absolute for the installed
# layout. A failed replacement is fatal, so an edit to config/ cannot silently ship a broken path.
macro(tb_config rel from to)
  file(READ "${TB_SOURCE_DIR}/config/${rel}" tb_text)
  if(NOT "${from}" STREQUAL "")
    string(FIND "${tb_text}" "${from}" tb_at)
    if(tb_at EQUAL -1)
      message(FATAL_ERROR "config/${rel}: expected the line '${from}' to adjust for install")
    endif()
    string(REPLACE "${from}" "${to}" tb_text "${tb_text}")
  endif()
  file(WRITE "${TB_WORK_DIR}/config/${rel}" "${tb_text}")
  get_filename_component(tb_sub "${rel}" DIRECTORY)
  tb_install("${TB_WORK_DIR}/config/${rel}" "${etc_dir}/${tb_sub}" TRUE)
endmacro()

file(GLOB tb_files RELATIVE "${TB_SOURCE_DIR}/config"
     "${TB_SOURCE_DIR}/config/*.toml" "${TB_SOURCE_DIR}/config/nodes/*.toml"
     "${TB_SOURCE_DIR}/config/data/*" "${TB_SOURCE_DIR}/config/prometheus/*.yml")
foreach(rel IN LISTS tb_files)
  if(rel STREQUAL "nodes/marketdata.toml")
    tb_config(${rel} "path = \"config/data/sample_quotes.csv\""
              "path = \"${etc_dir}/data/sample_quotes.csv\"")
  elseif(rel STREQUAL "broker.toml")
    # Installed: the state lives in the units' StateDirectory, and a host with no saved state
    # (a new install, a lost disk) starts halted until an operator runs `tradebus resume`.
    tb_config(${rel} "state_file = \"var/broker/trading.toml\"\nmissing_state = \"active\""
              "state_file = \"/var/lib/tradebus/broker/trading.toml\"\nmissing_state = \"halted\"")
  elseif(rel STREQUAL "nodes/journal.toml")
    tb_config(${rel} "dir = \"var/journal\"" "dir = \"/var/lib/tradebus/journal\"")
  else()
    tb_config(${rel} "" "")
  endif()
endforeach()
