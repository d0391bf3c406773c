# SPDX-License-Identifier: MIT OR Apache-2.0
# pagable_settings and pagable_warnings: linked PRIVATE by every first-party target.
add_library(pagable_settings INTERFACE)
add_library(pagable_warnings INTERFACE)

target_compile_options(pagable_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wcast-align
  -Wnull-dereference)
if(PAGABLE_WARNINGS_AS_ERRORS)
  target_compile_options(pagable_warnings INTERFACE -Werror)
endif()

set(_san "")
if(PAGABLE_ENABLE_SANITIZER_ADDRESS)
  list(APPEND _san address)
endif()
if(PAGABLE_ENABLE_SANITIZER_UNDEFINED)
  list(APPEND _san undefined)
endif()
if(PAGABLE_ENABLE_SANITIZER_THREAD)
  if(PAGABLE_ENABLE_SANITIZER_ADDRESS)
    message(FATAL_ERROR "TSan and ASan cannot be combined")
  endif()
  list(APPEND _san thread)
endif()
if(PAGABLE_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PAGABLE_BUILD_FUZZ needs Clang (libFuzzer)")
  endif()
  # Coverage instrumentation everywhere; the fuzz targets link libFuzzer's main.
  list(APPEND _san fuzzer-no-link)
endif()
if(_san)
  list(JOIN _san "," _san_list)
  # Applied globally so that every object (tests, CLI, library) agrees on the runtime.
  add_compile_options(-fsanitize=${_san_list} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_san_list})
endif()
