# Included by CTest after the doctest-discovered tests are defined: labels the
# long unit tests "long" so that a run can leave them out (the sanitizer tree
# runs `ctest -LE "long|oracle|example"`). Names not (or no longer) present are skipped.
set(xgrad_long_tests
  "training on 6,000 Fashion-MNIST images for 2 epochs reaches 0.75 test accuracy")
foreach(name IN LISTS xgrad_long_tests)
  list(FIND xgrad_tests_TESTS "${name}" position)
  if(NOT position EQUAL -1)
    set_tests_properties("${name}" PROPERTIES LABELS long)
  endif()
endforeach()
# The runs under mpirun (tests/apps/test_mpirun.cpp): label "mpi".
foreach(name IN LISTS xgrad_tests_TESTS)
  if(name MATCHES "^mpirun: ")
    set_tests_properties("${name}" PROPERTIES LABELS mpi)
  endif()
endforeach()
