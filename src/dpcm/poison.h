#pragma once
// Poisoning retired objects in the deliberately unprotected test mode (Dpcm::Options::
// test_unprotected): under AddressSanitizer a use is then reported as use-after-poison.

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DYNPCM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define DYNPCM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define DYNPCM_POISON(p, n) ((void)(p), (void)(n))
#define DYNPCM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
