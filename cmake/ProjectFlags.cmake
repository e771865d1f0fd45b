# Compile and link flags for the project's own code: warnings, sanitizers and
# fuzzing instrumentation. Included once from the top-level CMakeLists.txt,
# before any target is defined, so every target in the tree gets them.
#
# Options:
#   TOKEN_WERROR=ON|OFF        -Werror on top of -Wall -Wextra (default ON).
#                              Turn it off on a compiler the project is not
#                              tested with (tested: GCC 12, Clang 14).
#   TOKEN_SANITIZE=<list>      e.g. "address,undefined": build everything with
#                              those sanitizers, frame pointers kept, and any
#                              UBSan finding fatal (scripts/sanitize.sh).
#   TOKEN_FUZZ=ON|OFF          the libFuzzer targets in fuzz/ (Clang only;
#                              scripts/fuzz.sh). Implies address,undefined
#                              unless TOKEN_SANITIZE says otherwise, and
#                              instruments all project code for coverage.
#
# Third-party headers (Debian's gRPC, protobuf, Abseil, OpenSSL, nlohmann
# JSON, GoogleTest) live in system include directories, where compilers do
# not warn; generated protobuf code is compiled with -w and its headers are
# included as system headers (proto/CMakeLists.txt).

option(TOKEN_WERROR "Treat compiler warnings in project code as errors" ON)
set(TOKEN_SANITIZE "" CACHE STRING
    "Sanitizers for the whole build, e.g. address,undefined (empty: none)")
option(TOKEN_FUZZ "Build the libFuzzer targets in fuzz/ (Clang only)" OFF)

add_compile_options(-Wall -Wextra -Werror=switch -Werror=return-type)
# Option structs are built with designated initializers that name only what
# differs from the member defaults (`SessionOptions{.issuer = ...}`); GCC's
# -Wmissing-field-initializers (part of -Wextra) flags exactly that idiom, and
# every new defaulted member would break existing callers under -Werror.
add_compile_options(-Wno-missing-field-initializers)
if(TOKEN_WERROR)
  add_compile_options(-Werror)
endif()

if(TOKEN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TOKEN_FUZZ=ON needs Clang with libFuzzer, e.g. "
                        "-DCMAKE_CXX_COMPILER=clang++-14 (scripts/fuzz.sh does this)")
  endif()
  if(TOKEN_SANITIZE STREQUAL "")
    set(TOKEN_SANITIZE "address,undefined")
  endif()
  # Coverage feedback for everything we compile; the fuzz executables add the
  # libFuzzer runtime and its main() (fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(NOT TOKEN_SANITIZE STREQUAL "")
  # Findings must fail the run: UBSan otherwise prints and carries on.
  add_compile_options(-fsanitize=${TOKEN_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${TOKEN_SANITIZE})
  # GCC's manual warns that sanitizers raise the rate of false positives,
  # above all -Wmaybe-uninitialized (GCC 12 flags std::regex internals this
  # way at -O1). They stay visible but do not fail the sanitizer build; the
  # normal build keeps them fatal.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-error=maybe-uninitialized)
  endif()
endif()

message(STATUS "token: Werror=${TOKEN_WERROR} sanitize='${TOKEN_SANITIZE}' fuzz=${TOKEN_FUZZ}")
