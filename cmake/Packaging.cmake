# `cpack -G DEB` (run in a build directory): a Debian package of what `cmake --install` puts on a
# machine (binaries, launcher, systemd units, /etc/tradebus), for deploy hosts that do not build.
# Depends: the shared libraries the binaries link, computed by dpkg-shlibdeps (libzmq5, which
# brings libsodium23; libspdlog1.10-fmt9, libfmt9, libtomlplusplus3, libsystemd0, libstdc++6,
# libgcc-s1, libc6), plus libnss-systemd, which resolves the units' DynamicUser= name for `ps`,
# `ls -l` and journalctl.
# The test ops.deb_package installs it on a minimal Debian 12 root and runs it there.
# cpack and `make install` package what is built and never start a build themselves (build
# first, as the README says): ops.deb_package runs cpack while other tests run the binaries.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "tradebus")
set(CPACK_PACKAGE_VENDOR "tradebus")
set(CPACK_PACKAGE_CONTACT "tradebus maintainers <tradebus@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "ZeroMQ message-broker pipeline for algorithmic trading (broker, nodes, CLI, systemd units)")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libnss-systemd, tzdata")  # tzdata: [session] time zones
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
# What a deploy host runs, not the C++ SDK (component `sdk`: headers, static libraries, CMake
# package, tradebus.pc; cmake/Sdk.cmake): a host that builds nodes installs it with
# `cmake --install`, next to the -dev packages it needs (docs/write-your-own-node.md).
# One package of the components listed (install() without COMPONENT is `Unspecified`).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified)

# The files under /etc/tradebus are the operator's (conffiles: an upgrade keeps their edits), and
# systemd rereads the units after an install or removal.
set(tb_pkg_dir "${PROJECT_BINARY_DIR}/packaging")
file(GLOB tb_conf RELATIVE "${PROJECT_SOURCE_DIR}/config"
     "${PROJECT_SOURCE_DIR}/config/*.toml" "${PROJECT_SOURCE_DIR}/config/nodes/*.toml"
     "${PROJECT_SOURCE_DIR}/config/data/*" "${PROJECT_SOURCE_DIR}/config/prometheus/*.yml")
list(TRANSFORM tb_conf PREPEND "/etc/tradebus/")
list(JOIN tb_conf "\n" tb_conf)
file(WRITE "${tb_pkg_dir}/conffiles" "${tb_conf}\n")
foreach(script postinst postrm)
  file(WRITE "${tb_pkg_dir}/${script}" "#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
")
  file(CHMOD "${tb_pkg_dir}/${script}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
       GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${tb_pkg_dir}/conffiles;${tb_pkg_dir}/postinst;${tb_pkg_dir}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
