# Fails when a TEST_CASE name under tests/ holds ';'. doctest_discover_tests
# cuts such a name at the ';' (a CMake list separator): the pieces become CTest
# tests whose filter matches no test case, and they pass without running
# anything. tests/CMakeLists.txt includes this at configure time and CTest runs
# it as the test "test_names" (an edit made since the last configure).
#   cmake -DTESTS_DIR=/path/to/tests -P check_test_names.cmake
if(NOT TESTS_DIR)
  set(TESTS_DIR ${CMAKE_CURRENT_LIST_DIR})
endif()
file(GLOB_RECURSE xgrad_named_sources ${TESTS_DIR}/test_*.cpp)
foreach(source IN LISTS xgrad_named_sources)
  file(READ ${source} text)
  string(REGEX MATCH "TEST_CASE\\(\"[^\"\n]*;[^\"\n]*\"" bad_name "${text}")
  if(bad_name)
    message(FATAL_ERROR "${source}: a TEST_CASE name holds ';', which CTest would cut in two: ${bad_name}")
  endif()
endforeach()
