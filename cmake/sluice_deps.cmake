# Finds every external dependency. A missing one stops configuration with the
# Debian package that provides it, so the fix is one apt-get away
# (deploy/install-deps.sh installs them all).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# sluice_require_pkg(<target> <pkg-config module> <debian package>)
function(sluice_require_pkg target module debian_pkg)
  pkg_check_modules(${target} IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR
      "Sluice needs ${module} (pkg-config) but it was not found.\n"
      "Install the Debian package '${debian_pkg}', or run deploy/install-deps.sh as root.")
  endif()
  add_library(sluice::${target} ALIAS PkgConfig::${target})
endfunction()

sluice_require_pkg(libbpf libbpf libbpf-dev)
sluice_require_pkg(libxdp libxdp libxdp-dev)
sluice_require_pkg(liburing liburing liburing-dev)
sluice_require_pkg(hwloc hwloc libhwloc-dev)
sluice_require_pkg(httplib cpp-httplib libcpp-httplib-dev)
sluice_require_pkg(microhttpd libmicrohttpd libmicrohttpd-dev)

# libnuma ships no pkg-config file on Debian 12.
find_library(NUMA_LIBRARY numa)
find_path(NUMA_INCLUDE_DIR numa.h)
if(NOT NUMA_LIBRARY OR NOT NUMA_INCLUDE_DIR)
  message(FATAL_ERROR "Sluice needs libnuma. Install the Debian package 'libnuma-dev', "
                      "or run deploy/install-deps.sh as root.")
endif()
add_library(sluice::numa INTERFACE IMPORTED GLOBAL)
target_link_libraries(sluice::numa INTERFACE ${NUMA_LIBRARY})
target_include_directories(sluice::numa INTERFACE ${NUMA_INCLUDE_DIR})

# sluice_require_cmake_pkg(<package> <debian package>): header/CMake-config libraries.
macro(sluice_require_cmake_pkg pkg debian_pkg)
  find_package(${pkg} QUIET CONFIG)
  if(NOT ${pkg}_FOUND)
    message(FATAL_ERROR "Sluice needs ${pkg}. Install the Debian package '${debian_pkg}', "
                        "or run deploy/install-deps.sh as root.")
  endif()
endmacro()

sluice_require_cmake_pkg(CLI11 libcli11-dev)
sluice_require_cmake_pkg(nlohmann_json nlohmann-json3-dev)
sluice_require_cmake_pkg(tomlplusplus libtomlplusplus-dev)
sluice_require_cmake_pkg(spdlog libspdlog-dev)

if(SLUICE_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    message(FATAL_ERROR "Sluice tests need GoogleTest. Install the Debian packages "
                        "'libgtest-dev libgmock-dev', or configure with -DSLUICE_TESTS=OFF.")
  endif()
endif()

if(SLUICE_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    message(FATAL_ERROR "Sluice benchmarks need Google Benchmark. Install the Debian package "
                        "'libbenchmark-dev', or configure with -DSLUICE_BENCH=OFF.")
  endif()
endif()

if(SLUICE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "SLUICE_FUZZ needs clang (libFuzzer); use the 'fuzz' preset. "
                      "Debian packages: 'clang libclang-rt-14-dev'.")
endif()
