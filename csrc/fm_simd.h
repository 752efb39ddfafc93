/* FM_SIMD marks a hot loop function to be compiled twice, for AVX2 and for
 * the baseline, with the copy picked when the library loads: the speed of
 * AVX2 without a -march flag in the build (which would tie the wheel to the
 * build machine).  Results do not depend on the copy: no contraction into
 * fused multiply-adds is enabled, and vector and scalar IEEE operations
 * round alike. */
#ifndef FM_SIMD_H
#define FM_SIMD_H

#include <stdlib.h>   /* defines __GLIBC__ where glibc is the C library */

#if defined(__GNUC__) && defined(__x86_64__) && defined(__GLIBC__)
#define FM_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define FM_SIMD
#endif

/* FM_AVX2 marks a function written with AVX2 intrinsics (immintrin.h):
 * compiled for AVX2 whatever the build flags, and called only after
 * __builtin_cpu_supports("avx2") said yes.  For loops where a widening
 * instruction the compiler does not find on its own (pmaddwd) pays. */
#if defined(__GNUC__) && defined(__x86_64__)
#define FM_HAVE_AVX2 1
#define FM_AVX2 __attribute__((target("avx2")))
#else
#define FM_HAVE_AVX2 0
#endif

#endif
