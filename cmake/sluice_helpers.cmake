# Shared build helpers: one way to add a library, a test, a fuzzer, a benchmark.

set(SLUICE_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wimplicit-fallthrough)

add_library(sluice_build_flags INTERFACE)
target_compile_options(sluice_build_flags INTERFACE ${SLUICE_WARNINGS}
                       -fno-omit-frame-pointer
                       $<$<BOOL:${SLUICE_WERROR}>:-Werror>)
target_include_directories(sluice_build_flags INTERFACE ${PROJECT_SOURCE_DIR})
target_link_libraries(sluice_build_flags INTERFACE Threads::Threads)

# sluice_add_library(<name> SOURCES ... DEPS ...)
function(sluice_add_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_link_libraries(${name} PUBLIC sluice_build_flags ${A_DEPS})
endfunction()

# sluice_add_executable(<name> SOURCES ... DEPS ...)
function(sluice_add_executable name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE sluice_build_flags ${A_DEPS})
endfunction()

# sluice_add_test(<name> SOURCES ... DEPS ... [LABELS ...] [TIMEOUT s])
# A GoogleTest binary registered with ctest as one test (its cases print in
# the log); labels let CI pick fast/slow subsets.
function(sluice_add_test name)
  if(NOT SLUICE_TESTS OR SLUICE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE sluice_build_flags ${A_DEPS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT} LABELS "${A_LABELS}")
endfunction()

# sluice_add_fuzzer(<name> SOURCES ... DEPS ...)
# Built only by the 'fuzz' preset (clang, -fsanitize=fuzzer,address,undefined).
# Registered with ctest to run for SLUICE_FUZZ_SECONDS on its seed corpus.
set(SLUICE_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzzer runs under ctest")
function(sluice_add_fuzzer name)
  if(NOT SLUICE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE sluice_build_flags ${A_DEPS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(corpus ${CMAKE_CURRENT_BINARY_DIR}/${name}_corpus)
  add_test(NAME ${name} COMMAND sh -c
           "mkdir -p '${corpus}' && exec '$<TARGET_FILE:${name}>' -max_total_time=${SLUICE_FUZZ_SECONDS} -print_final_stats=1 '${corpus}'")
  set_tests_properties(${name} PROPERTIES TIMEOUT 600 LABELS fuzz)
endfunction()

# sluice_add_benchmark(<name> SOURCES ... DEPS ...)
function(sluice_add_benchmark name)
  if(NOT SLUICE_BENCH OR SLUICE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE sluice_build_flags ${A_DEPS} benchmark::benchmark)
endfunction()
