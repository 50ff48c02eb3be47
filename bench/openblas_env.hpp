#pragma once
// OpenBLAS's kernel choice, for the benchmarks (the only place OpenBLAS is used).
//
// OpenBLAS picks its kernels when the library loads, from OPENBLAS_CORETYPE or,
// when that is unset, from its own CPU detection. Debian's 0.3.21 does not know
// recent CPUs (Zen 4/5, Sapphire Rapids and later) and falls back to "Prescott"
// (SSE3), which runs about 5x slow. So a benchmark that wants OpenBLAS at its
// best must set OPENBLAS_CORETYPE before OpenBLAS loads, that is, before main().

namespace xg::bench {

// If OPENBLAS_CORETYPE is unset and the CPU has AVX-512 (F, BW, DQ, VL: what
// OpenBLAS's SkylakeX kernels use), sets it to SkylakeX and re-executes this
// program (/proc/self/exe) so that OpenBLAS sees it when it loads. A value that
// is already set is respected. Call first thing in main().
void reexec_with_openblas_coretype(char** argv);

// The OpenBLAS kernel in use, as openblas_get_corename() reports it (e.g. "skylakex").
const char* openblas_core_name();

}  // namespace xg::bench
