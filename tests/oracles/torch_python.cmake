# Finds the Python interpreter that the PyTorch oracle tests run (tests/oracles/:
# training_step, layers_losses_optim, model_file) and sets XGRAD_TORCH_PYTHON_EXE.
# The oracle tests need a Python with torch and numpy. Debian ships torch only for the
# system interpreter (/usr/bin/python3), while the `python3` first on PATH may
# be another one without it, so try /usr/bin/python3 first and check each
# candidate by importing torch.
set(XGRAD_TORCH_PYTHON "" CACHE FILEPATH
  "Python interpreter with torch and numpy for the PyTorch oracle test (empty: the first of /usr/bin/python3, python3 on PATH that imports them)")

function(xgrad_python_has_torch python result)
  execute_process(
    COMMAND "${python}" -c "import torch, numpy"
    RESULT_VARIABLE status
    OUTPUT_QUIET ERROR_QUIET
    TIMEOUT 120)
  if(status STREQUAL "0")
    set(${result} TRUE PARENT_SCOPE)
  else()
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()

set(torch_python "")
if(XGRAD_TORCH_PYTHON)
  xgrad_python_has_torch("${XGRAD_TORCH_PYTHON}" ok)
  if(NOT ok)
    message(FATAL_ERROR
      "XGRAD_TORCH_PYTHON=${XGRAD_TORCH_PYTHON} cannot 'import torch, numpy'.\n"
      "HINT: apt-get install python3-torch (it brings numpy), then configure again "
      "without -DXGRAD_TORCH_PYTHON, or point it at an interpreter that has torch.")
  endif()
  set(torch_python "${XGRAD_TORCH_PYTHON}")
else()
  find_program(XGRAD_PATH_PYTHON3 NAMES python3)
  mark_as_advanced(XGRAD_PATH_PYTHON3)
  set(candidates /usr/bin/python3)
  if(XGRAD_PATH_PYTHON3)
    list(APPEND candidates "${XGRAD_PATH_PYTHON3}")
  endif()
  list(REMOVE_DUPLICATES candidates)
  foreach(candidate ${candidates})
    if(NOT torch_python AND EXISTS "${candidate}")
      xgrad_python_has_torch("${candidate}" ok)
      if(ok)
        set(torch_python "${candidate}")
      endif()
    endif()
  endforeach()
  if(NOT torch_python)
    message(FATAL_ERROR
      "No Python interpreter that can 'import torch, numpy' was found (tried ${candidates}); the PyTorch oracle tests need one.\n"
      "HINT: apt-get install python3-torch (Debian's torch for /usr/bin/python3, with numpy), "
      "or pass -DXGRAD_TORCH_PYTHON=/path/to/python with torch installed.")
  endif()
endif()
set(XGRAD_TORCH_PYTHON_EXE "${torch_python}")
message(STATUS "PyTorch oracle tests use ${XGRAD_TORCH_PYTHON_EXE}")
