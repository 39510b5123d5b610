# sriovkit build helpers, shaped like abseil's absl_cc_library / absl_cc_test.
include_guard(GLOBAL)

# -Wconversion: an implicit narrowing (integer or floating) is a finding; a
# narrowing we mean is a static_cast beside the check that bounds it.
# -Wno-sign-conversion: clang's -Wconversion includes it, g++'s does not (for
# C++); spelled out so both compilers check the same narrowings.
set(SK_LIB_COPTS -Wall -Wextra -Wshadow -Wcast-qual -Wformat=2 -Wconversion
    -Wno-sign-conversion -Wmissing-declarations -Werror=unused-result)
# Test code compiles at -O0 in every build type: it checks behaviour, not
# speed, and the code under test (libraries, executables, benchmarks) keeps
# the build type's level. -O0 compiles a gmock-heavy test in about half the
# time of -O2 (cni/plugin_test.cc: 20 s against 38 s), and tests are about
# half of the main build.
set(SK_TEST_COPTS -O0 -Wall -Wextra -Wconversion -Wno-sign-conversion
    -Wno-unused-parameter -Wno-sign-compare -Werror=unused-result)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND SK_LIB_COPTS -Wthread-safety)
endif()
if(SK_WERROR)
  list(APPEND SK_LIB_COPTS -Werror)
  list(APPEND SK_TEST_COPTS -Werror)
  # Conversion findings stay warnings until one full build of the tree has
  # shown none (docs/development.md, "Warnings"); then these two go.
  set(_sk_conversion_not_fatal -Wno-error=conversion -Wno-error=float-conversion)
  list(APPEND SK_LIB_COPTS ${_sk_conversion_not_fatal})
  list(APPEND SK_TEST_COPTS ${_sk_conversion_not_fatal})
endif()

if(SK_SANITIZE)
  add_compile_options(-fsanitize=${SK_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${SK_SANITIZE})
endif()

# Under ThreadSanitizer every executable links tests/tsan's annotations of
# Debian's (uninstrumented) abseil Mutex and CondVar.
function(_sk_tsan_link target)
  if(SK_SANITIZE MATCHES "thread")
    target_link_libraries(${target} PRIVATE sk_tsan_absl_sync)
  endif()
endfunction()

if(SK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SK_FUZZ needs clang (libFuzzer)")
  endif()
  # Coverage for the libraries under test too, not only the fuzz entry points.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
set(SK_FUZZ_SECONDS 20 CACHE STRING "Seconds each <fuzzer>_fuzz test fuzzes (SK_FUZZ)")

# sk_add_subdirs(DIR): add every immediate child of DIR that has a CMakeLists.txt.
function(sk_add_subdirs dir)
  file(GLOB children LIST_DIRECTORIES true ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*)
  list(SORT children)
  foreach(child ${children})
    if(IS_DIRECTORY ${child} AND EXISTS ${child}/CMakeLists.txt)
      add_subdirectory(${child})
    endif()
  endforeach()
endfunction()

# sk_cc_library(NAME n HDRS .. SRCS .. DEPS .. [PUBLIC_DEPS ..])
# Creates static library sk_<n> and alias sk::<n>.
function(sk_cc_library)
  cmake_parse_arguments(SK "" "NAME" "HDRS;SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target sk_${SK_NAME})
  if(SK_SRCS)
    add_library(${target} STATIC ${SK_SRCS} ${SK_HDRS})
    target_compile_options(${target} PRIVATE ${SK_LIB_COPTS})
    target_link_libraries(${target} PUBLIC ${SK_PUBLIC_DEPS} PRIVATE ${SK_DEPS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  else()
    add_library(${target} INTERFACE ${SK_HDRS})
    target_link_libraries(${target} INTERFACE ${SK_PUBLIC_DEPS} ${SK_DEPS})
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR}/src)
  endif()
  add_library(sk::${SK_NAME} ALIAS ${target})
endfunction()

# sk_cc_binary(NAME n SRCS .. DEPS ..)
function(sk_cc_binary)
  cmake_parse_arguments(SK "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${SK_NAME} ${SK_SRCS})
  target_compile_options(${SK_NAME} PRIVATE ${SK_LIB_COPTS})
  target_link_libraries(${SK_NAME} PRIVATE ${SK_DEPS})
  _sk_tsan_link(${SK_NAME})
endfunction()

# sk_cc_test(NAME n SRCS .. DEPS .. [LABELS unit|integration|lab])
# Unit tests are the default label; integration tests need root and skip without it.
function(sk_cc_test)
  if(NOT SK_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(SK "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT SK_LABELS)
    set(SK_LABELS unit)
  endif()
  add_executable(${SK_NAME} ${SK_SRCS})
  target_compile_options(${SK_NAME} PRIVATE ${SK_TEST_COPTS})
  target_link_libraries(${SK_NAME} PRIVATE ${SK_DEPS} sk::testing GTest::gmock_main)
  _sk_tsan_link(${SK_NAME})
  gtest_discover_tests(${SK_NAME} PROPERTIES LABELS "${SK_LABELS}"
                       DISCOVERY_TIMEOUT 60)
endfunction()

# sk_benchmark(NAME n SRCS .. DEPS ..)
function(sk_benchmark)
  if(NOT SK_BUILD_BENCH)
    return()
  endif()
  cmake_parse_arguments(SK "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${SK_NAME} ${SK_SRCS})
  # The test warnings, at the build type's optimisation level (no -O0).
  list(REMOVE_ITEM SK_TEST_COPTS -O0)
  target_compile_options(${SK_NAME} PRIVATE ${SK_TEST_COPTS})
  target_link_libraries(${SK_NAME} PRIVATE ${SK_DEPS} benchmark::benchmark)
endfunction()

# sk_fuzzer(NAME n SRCS .. DEPS .. CORPUS dir)
# With SK_FUZZ (clang) builds a libFuzzer binary; otherwise links a replay main and
# registers a ctest that replays the corpus (fmt's FMT_FUZZ_LINKMAIN).
function(sk_fuzzer)
  if(NOT SK_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(SK "" "NAME;CORPUS" "SRCS;DEPS" ${ARGN})
  add_executable(${SK_NAME} ${SK_SRCS})
  target_compile_options(${SK_NAME} PRIVATE ${SK_TEST_COPTS})
  target_link_libraries(${SK_NAME} PRIVATE ${SK_DEPS})
  if(SK_FUZZ)
    target_compile_options(${SK_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_options(${SK_NAME} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${SK_NAME}_replay COMMAND ${SK_NAME} -runs=0 ${SK_CORPUS})
    # Bounded fuzzing (label fuzzing): fixed seed, SK_FUZZ_SECONDS, new inputs
    # in the build tree; a crash fails the test naming its input.
    add_test(NAME ${SK_NAME}_fuzz
             COMMAND ${PROJECT_SOURCE_DIR}/fuzz/run_fuzzer.sh $<TARGET_FILE:${SK_NAME}>
                     ${SK_CORPUS} ${CMAKE_BINARY_DIR}/fuzz-work/${SK_NAME} ${SK_FUZZ_SECONDS})
    set_tests_properties(${SK_NAME}_fuzz PROPERTIES LABELS fuzzing
                         TIMEOUT 600)
  else()
    target_sources(${SK_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc)
    add_test(NAME ${SK_NAME}_replay COMMAND ${SK_NAME} ${SK_CORPUS})
  endif()
  set_tests_properties(${SK_NAME}_replay PROPERTIES LABELS "unit;fuzz")
endfunction()
