/* SPDX-License-Identifier: MIT
 * cmocka's config.h for the cross builds' unit tests (test/unit/cmocka.mk):
 * what its CMake checks find in glibc, and the target's byte order and
 * pointer size from the compiler itself (cmocka packs pointers into 64-bit
 * values and must know both). */
#define HAVE_INTTYPES_H 1
#define HAVE_MALLOC_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRUCT_TIMESPEC 1
#define HAVE_CLOCK_REALTIME 1
#define HAVE_GCC_THREAD_LOCAL_STORAGE 1
#define HAVE_SIGLONGJMP 1
#define HAVE_STRSIGNAL 1
#define WORDS_SIZEOF_VOID_P __SIZEOF_POINTER__
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WORDS_BIGENDIAN 1
#endif
