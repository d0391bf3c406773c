# SPDX-License-Identifier: MIT OR Apache-2.0
# Installs the built project into a scratch prefix, then configures, builds and runs a tiny
# consumer that uses find_package(pagable) -- what a C++ user of the library does.
include(${CMAKE_CURRENT_LIST_DIR}/install_and_build.cmake)
install_and_build(${SOURCE_DIR}/tests/install/consumer "the consumer")
foreach(f bin/pagable share/man/man1/pagable.1 include/pagable/store.hpp)
  if(NOT EXISTS ${PREFIX}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
execute_process(COMMAND ${WORK_DIR}/build/consumer ${WORK_DIR}/consumer.pagable
  RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer said: ${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "round trip ok")
  message(FATAL_ERROR "the consumer did not run correctly (exit ${rc})")
endif()
