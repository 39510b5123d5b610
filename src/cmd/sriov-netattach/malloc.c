/* sriov-netattach's malloc, in place of musl's (which static linking lets
 * a program replace): lib/netattach/shim_arena.h, over a buffer in the
 * program's data segment. Linked only into the musl build; sanitizer builds
 * keep their own allocator. */
#include <stddef.h>
#include <stdlib.h> /* the declarations these definitions replace */

#include "lib/netattach/shim_arena.h"

/* Room for the largest stdin the fast path reads (1 MiB + 1, then shrunk
 * to its size) and what follows it; the rest goes to mmap. Kept under
 * 2 MiB so that the data segment's pages share the code's page table. */
#define SK_SHIM_ARENA_BYTES ((size_t)3 << 19)

static _Alignas(16) unsigned char buffer[SK_SHIM_ARENA_BYTES];
static sk_arena arena = {buffer, SK_SHIM_ARENA_BYTES, 0, SK_SHIM_ARENA_BYTES};

void* malloc(size_t n) { return sk_arena_malloc(&arena, n); }
void* calloc(size_t count, size_t n) {
  return sk_arena_calloc(&arena, count, n);
}
void* realloc(void* p, size_t n) { return sk_arena_realloc(&arena, p, n); }
void free(void* p) { sk_arena_free(&arena, p); }
