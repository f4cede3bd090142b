# The built-in node kinds (CONTRIBUTING.md "Add a built-in node kind"). A kind is a folder
# nodes/<kind>/ whose CMakeLists.txt calls tradebus_add_node(<kind> ...) once; nothing else
# lists the kinds. What needs them reads them from here:
#   - the global property TRADEBUS_NODE_KINDS (the kinds, as nodes/CMakeLists.txt added them):
#     tests/unit and tests/integration link each kind's library, the integration harness gets
#     each kind's executable;
#   - <build>/node-kinds.txt, one line "<kind> <absolute path of tradebus-<kind>>", for the shell
#     scripts (scripts/run-pipeline.sh, tests/ops/*.sh);
#   - the target tradebus-nodes, which builds every node executable.
# Which nodes the default pipeline runs, in what order and after which others, is config, not
# build: the [pipeline.<name>] tables of config/broker.toml (systemd's tradebus.target, the
# pipeline scripts) and each node's config/nodes/<name>.toml.

# tradebus_add_node(<kind> SOURCES <library sources...> [LINK <libraries...>]): the kind's
# library tradebus_<kind> (alias tradebus::<kind>) from SOURCES, its public headers in
# include/ (include/tradebus/<kind>/), linked to tradebus::runtime and LINK, both installed
# with the SDK (export set tradebus-targets, as tradebus::<kind>); the executable
# tradebus-<kind> from main.cpp, installed to bin/; and the kind recorded.
function(tradebus_add_node kind)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LINK")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_SOURCES)
    message(FATAL_ERROR "usage: tradebus_add_node(<kind> SOURCES <files...> [LINK <libs...>])")
  endif()
  if(NOT kind MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "tradebus_add_node: kind \"${kind}\": expected a-z, 0-9, _")
  endif()
  get_property(kinds GLOBAL PROPERTY TRADEBUS_NODE_KINDS)
  if(kind IN_LIST kinds)
    message(FATAL_ERROR "tradebus_add_node: kind \"${kind}\" added twice")
  endif()
  add_library(tradebus_${kind} ${arg_SOURCES})
  add_library(tradebus::${kind} ALIAS tradebus_${kind})
  target_include_directories(tradebus_${kind} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(tradebus_${kind} PUBLIC tradebus::runtime ${arg_LINK}
    PRIVATE $<BUILD_INTERFACE:tradebus::warnings>)
  # In the installed SDK too: an SDK node's backtest (tradebus::backtest) runs the built-in
  # kinds' logic next to its own.
  set_target_properties(tradebus_${kind} PROPERTIES EXPORT_NAME ${kind})
  install(TARGETS tradebus_${kind} EXPORT tradebus-targets COMPONENT sdk)
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk)
  add_executable(tradebus-${kind} main.cpp)
  target_link_libraries(tradebus-${kind} PRIVATE tradebus::${kind} tradebus::warnings)
  install(TARGETS tradebus-${kind})
  set_property(GLOBAL APPEND PROPERTY TRADEBUS_NODE_KINDS ${kind})
endfunction()

# tradebus_node_kinds(<out>): the recorded kinds.
function(tradebus_node_kinds out)
  get_property(kinds GLOBAL PROPERTY TRADEBUS_NODE_KINDS)
  set(${out} ${kinds} PARENT_SCOPE)
endfunction()

# tradebus_finish_node_kinds(<folders...>): after every nodes/<kind>/ is added. Checks that each
# folder added exactly its own kind, then writes <build>/node-kinds.txt and the tradebus-nodes
# target.
function(tradebus_finish_node_kinds)
  tradebus_node_kinds(kinds)
  foreach(folder IN LISTS ARGN)
    if(NOT folder IN_LIST kinds)
      message(FATAL_ERROR "nodes/${folder}/CMakeLists.txt: expected tradebus_add_node(${folder} ...)"
                          " (cmake/NodeKinds.cmake)")
    endif()
  endforeach()
  set(lines "")
  foreach(kind IN LISTS kinds)
    if(NOT kind IN_LIST ARGN)
      message(FATAL_ERROR "tradebus_add_node(${kind}) outside nodes/${kind}/")
    endif()
    string(APPEND lines "${kind} $<TARGET_FILE:tradebus-${kind}>\n")
  endforeach()
  file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/node-kinds.txt" CONTENT "${lines}")
  list(TRANSFORM kinds PREPEND "tradebus-" OUTPUT_VARIABLE exes)
  add_custom_target(tradebus-nodes)
  add_dependencies(tradebus-nodes ${exes})
endfunction()
