# Runs at `cmake --install` time (install(SCRIPT) from cmake/Sdk.cmake), so tradebus.pc names
# the prefix given there. Inputs (set by the install(CODE) before it): TB_PC_VERSION,
# TB_PC_LIBDIR, TB_PC_INCLUDEDIR (relative to the prefix unless absolute), TB_PC_EXTRA_CFLAGS,
# TB_PC_EXTRA_LIBS, TB_PC_TEMPLATE, TB_PC_WORK.
cmake_policy(VERSION 3.25)

set(TB_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(tb_pc_dir "${TB_PC_LIBDIR}/pkgconfig")
foreach(tb_var TB_PC_LIBDIR TB_PC_INCLUDEDIR)
  if(NOT IS_ABSOLUTE "${${tb_var}}")
    set(${tb_var} "\${prefix}/${${tb_var}}")
  endif()
endforeach()
if(NOT IS_ABSOLUTE "${tb_pc_dir}")
  set(tb_pc_dir "${CMAKE_INSTALL_PREFIX}/${tb_pc_dir}")
endif()
configure_file("${TB_PC_TEMPLATE}" "${TB_PC_WORK}" @ONLY)
# file(INSTALL) prepends $DESTDIR and records the file in install_manifest.txt.
file(INSTALL DESTINATION "${tb_pc_dir}" TYPE FILE FILES "${TB_PC_WORK}")
