#include "openblas_env.hpp"

#include <cstdio>
#include <cstdlib>

#include <cblas.h>
#include <unistd.h>

namespace xg::bench {

void reexec_with_openblas_coretype(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
    return;  // OpenBLAS's own detection is right for the CPUs it knows without AVX-512
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  execv("/proc/self/exe", argv);
  std::perror("bench: re-exec with OPENBLAS_CORETYPE=SkylakeX failed; OpenBLAS may run slow");
}

const char* openblas_core_name() { return openblas_get_corename(); }

}  // namespace xg::bench
