# SPDX-License-Identifier: MIT OR Apache-2.0
# Installs the built project into a scratch prefix, then builds examples/objects against it
# (find_package(pagable), as its README says) and runs it with a few targets under a small
# budget (4,000 targets need about twice the 1 MiB budget, so values must page out), so
# that the example a user copies cannot rot.
include(${CMAKE_CURRENT_LIST_DIR}/install_and_build.cmake)
install_and_build(${SOURCE_DIR}/examples/objects "examples/objects")
execute_process(COMMAND ${WORK_DIR}/build/build_graph ${WORK_DIR}/graph.pagable --targets 4000 --budget-mb 1
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "build_graph said: ${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build_graph failed (exit ${rc})")
endif()
string(STRIP "${out}" out)
string(REGEX REPLACE ".*\n" "" last "${out}")
foreach(member targets budget_bytes peak_resident_bytes serialized stored root)
  string(JSON value ERROR_VARIABLE missing GET "${last}" ${member})
  if(missing)
    message(FATAL_ERROR "the last line has no \"${member}\": ${last}")
  endif()
endforeach()
string(JSON targets GET "${last}" targets)
string(JSON root GET "${last}" root)
string(JSON read GET "${last}" read_back targets_in_graph)
string(JSON paged_out GET "${last}" paged_out)
if(NOT targets EQUAL 4000 OR NOT read EQUAL 4000 OR NOT root STREQUAL "build-graph" OR paged_out EQUAL 0)
  message(FATAL_ERROR "unexpected figures: ${last}")
endif()
