/* sriov-netattach's malloc, in place of musl's (which static linking lets
 * a program replace): lib/netattach/shim_arena.h, over a buffer in the
 * program's data segment. Linked only into the musl build; sanitizer builds
 * keep their own allocator.
 *
 * Every entry point of musl's that reaches its own allocator is defined
 * here: aligned_alloc (which posix_memalign, memalign and valloc call) and
 * malloc_usable_size, else a call of one of them would link musl's malloc
 * in beside this one without a word (shim_binary_test.cc checks the
 * program's symbols for it). */
#include <malloc.h> /* malloc_usable_size */
#include <stddef.h>
#include <stdlib.h> /* the declarations these definitions replace */

#include "lib/netattach/shim_arena.h"

/* Room for the largest stdin the fast path reads (1 MiB + 1, then shrunk
 * to its size) and what follows it; the rest goes to mmap. Kept under
 * 2 MiB so that the data segment's pages share the code's page table. */
#define SK_SHIM_ARENA_BYTES ((size_t)3 << 19)

static _Alignas(16) unsigned char buffer[SK_SHIM_ARENA_BYTES];
static sk_arena arena = {buffer, SK_SHIM_ARENA_BYTES, 0};

void* malloc(size_t n) { return sk_arena_malloc(&arena, n); }
void* calloc(size_t count, size_t n) {
  return sk_arena_calloc(&arena, count, n);
}
void* realloc(void* p, size_t n) { return sk_arena_realloc(&arena, p, n); }
void free(void* p) { sk_arena_free(&arena, p); }
void* aligned_alloc(size_t alignment, size_t n) {
  return sk_arena_aligned_alloc(&arena, alignment, n);
}
size_t malloc_usable_size(void* p) { return sk_arena_usable_size(&arena, p); }
