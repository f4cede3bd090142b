# The installed C++ SDK (README "Write your own node"): what `cmake --install` adds so a node
# can be built out of this tree. The libraries and headers are installed by their folders
# (schema/, common/, nodes/runtime/, export set `tradebus-targets`); this file adds the CMake
# package (find_package(tradebus 0.1) -> tradebus::node, tradebus::schema, tradebus::backtest)
# and tradebus.pc, tradebus-backtest.pc.
include(CMakePackageConfigHelpers)

set(TRADEBUS_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/tradebus")

# tradebus::options goes with the libraries: their compiled code needs what it says at link
# time. A plain build's is empty; a TRADEBUS_SANITIZE build's carries the -fsanitize flags, so
# a node built against that SDK is instrumented and links the sanitizer runtimes as the
# libraries require. tradebus::warnings is never installed (BUILD_INTERFACE only).
set_target_properties(tradebus_options PROPERTIES EXPORT_NAME options)
install(TARGETS tradebus_options EXPORT tradebus-targets COMPONENT sdk)

install(EXPORT tradebus-targets NAMESPACE tradebus:: FILE tradebusTargets.cmake
        DESTINATION "${TRADEBUS_CMAKE_DIR}" COMPONENT sdk)
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/tradebusConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/sdk/tradebusConfig.cmake" INSTALL_DESTINATION "${TRADEBUS_CMAKE_DIR}")
# SameMinorVersion: before 1.0 a minor release may change the node API and the wire (and the
# libraries are static, compiled against these exact headers), so find_package(tradebus 0.1)
# accepts 0.1.x only; a patch release only fixes.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/sdk/tradebusConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/sdk/tradebusConfig.cmake"
              "${PROJECT_BINARY_DIR}/sdk/tradebusConfigVersion.cmake"
        DESTINATION "${TRADEBUS_CMAKE_DIR}" COMPONENT sdk)

# tradebus.pc, written at install time so it names the prefix given to `cmake --install
# --prefix` (as the systemd units do): `pkg-config --cflags --libs tradebus`. The libraries are
# static archives, so what they link is the user's to link: the Debian .pc names go in
# Requires, not Requires.private (whose libraries only `--static` adds, and that also drags in
# libzmq's static-only dependencies, which Debian does not ship as shared libraries).
# Debian 12 has no .pc for date-tz: -ldate-tz in Libs.
get_target_property(tb_sdk_opts tradebus_options INTERFACE_COMPILE_OPTIONS)
get_target_property(tb_sdk_link_opts tradebus_options INTERFACE_LINK_OPTIONS)
set(tb_sdk_cflags "")
set(tb_sdk_libs "")
if(tb_sdk_opts)
  list(JOIN tb_sdk_opts " " tb_sdk_cflags)
  string(PREPEND tb_sdk_cflags " ")
endif()
if(tb_sdk_link_opts)
  list(JOIN tb_sdk_link_opts " " tb_sdk_libs)
  string(PREPEND tb_sdk_libs " ")
endif()
# tradebus-backtest.pc: what an SDK node's backtest entry point adds (tradebus::backtest).
foreach(tb_pc tradebus tradebus-backtest)
  install(CODE "
    set(TB_PC_VERSION \"${PROJECT_VERSION}\")
    set(TB_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
    set(TB_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
    set(TB_PC_EXTRA_CFLAGS \"${tb_sdk_cflags}\")
    set(TB_PC_EXTRA_LIBS \"${tb_sdk_libs}\")
    set(TB_PC_TEMPLATE \"${CMAKE_CURRENT_LIST_DIR}/${tb_pc}.pc.in\")
    set(TB_PC_WORK \"${PROJECT_BINARY_DIR}/sdk/installed/${tb_pc}.pc\")
  " COMPONENT sdk)
  install(SCRIPT "${CMAKE_CURRENT_LIST_DIR}/install_pc.cmake" COMPONENT sdk)
endforeach()
