#!/usr/bin/env bash
# Installs what xgrad needs from Debian's packages (with sudo when not root),
# then builds it into build/. Safe to run again: it installs only what is
# missing and rebuilds only what changed.
#
#   ./setup.sh               to train: compiler, libraries, Fashion-MNIST
#   ./setup.sh --with-tests  also what the tests need: PyTorch (the oracle), OpenBLAS (the benchmark),
#                            Graphviz (`dot` renders `xgrad graph`'s output, as docs/autograd.md does),
#                            OpenMPI (the mpirun tests), and a second, sanitizer-instrumented build
#                            of the unit tests in build-asan/
#   ./setup.sh --with-mpi    also OpenMPI, for `mpirun -np N build/xgrad train` (docs/DISTRIBUTED.md)
set -euo pipefail
cd "$(dirname "$0")"

packages=(cmake make ninja-build g++ libxtensor-dev libxsimd-dev doctest-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libcli11-dev nlohmann-json3-dev
          dataset-fashion-mnist)
testing=OFF
mpi=(openmpi-bin libopenmpi-dev)
for arg in "$@"; do
  case "$arg" in
    --with-tests) packages+=(python3 python3-numpy python3-torch libopenblas-dev graphviz "${mpi[@]}"); testing=ON ;;
    --with-mpi) packages+=("${mpi[@]}") ;;
    *) echo "usage: ./setup.sh [--with-tests] [--with-mpi]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The test set-up (CI) also turns compiler warnings in the project's own code into errors.
werror=OFF
if [ "$testing" = ON ]; then werror=ON; fi
# A new tree is generated for Ninja, which compiles any file whose inputs are
# ready, where Make finishes a library before it starts on those that use it:
# with gemm.cpp alone taking a minute to compile, one core waited (build-asan/
# 426 s -> 340 s, build/ 380 s -> 362 s on an Intel Xeon model 207, 2 cores). A
# tree configured before keeps its generator (CMake refuses to switch).
generator() { [ -f "$1/CMakeCache.txt" ] || echo "-GNinja"; }
cmake $(generator build) -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=$testing -DXGRAD_WERROR=$werror
cmake --build build -j"$(nproc)"

# With --with-tests, also the unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (-DXGRAD_SANITIZE=ON) in build-asan/. That tree
# is a unity build (CMake joins each target's files into batches of 8 and
# parses the headers once per batch): it compiles in about a third of the
# time. In build/ the library compiles file by file, as a user's build does;
# the tests and the commands (apps/) are batched in both trees (XGRAD_UNITY).
if [ "$testing" = ON ]; then
  cmake $(generator build-asan) -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DXGRAD_SANITIZE=ON -DXGRAD_WERROR=ON -DCMAKE_UNITY_BUILD=ON
  cmake --build build-asan -j"$(nproc)" --target xgrad_tests
fi
