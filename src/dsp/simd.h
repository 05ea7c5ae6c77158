#pragma once
// DYNPCM_SIMD_CLONES: the hot DSP loops are built for AVX2 and for the baseline on x86-64, and
// the loader picks one for the CPU it runs on (GCC function multi-versioning), so a generic
// build still processes eight floats per instruction where the CPU can. Not under the
// sanitizers: their runtimes are not up yet when the loader runs the clones' resolvers (an
// IFUNC resolver crashes ThreadSanitizer's start-up).

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DYNPCM_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DYNPCM_SIMD_CLONES
#endif
