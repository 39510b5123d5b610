/* The allocator of sriov-netattach, the fast path of the CNI shim (see
 * shim_fast.h): a bump allocator over one static buffer, with mmap for what
 * does not fit. The program runs once per CNI call and exits; what it
 * allocates (its stdin, the request frame, the reply) fits in a few pages,
 * which this allocator puts next to each other inside the program's own
 * data segment. musl's malloc takes a brk heap and separate mappings for a
 * first allocation of each size, which on a VM costs page faults and new
 * page-table pages at every exec (docs/performance.md, "The shim's
 * allocations").
 *
 * Not thread-safe: the program has one thread. free() gives memory back
 * only for the block at the top of the buffer (the others are kept until
 * exit) and for a mapping. Blocks are aligned to 16 bytes, as malloc's. */
#ifndef SK_LIB_NETATTACH_SHIM_ARENA_H_
#define SK_LIB_NETATTACH_SHIM_ARENA_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  unsigned char* base; /* 16-byte aligned */
  size_t size;         /* bytes at base */
  size_t top;          /* bytes of base in use */
} sk_arena;

/* An arena over `size` bytes at `base` (16-byte aligned). */
void sk_arena_init(sk_arena* a, void* base, size_t size);
/* As malloc, calloc, realloc and free; NULL and errno ENOMEM when out of
 * memory. */
void* sk_arena_malloc(sk_arena* a, size_t n);
void* sk_arena_calloc(sk_arena* a, size_t count, size_t n);
void* sk_arena_realloc(sk_arena* a, void* p, size_t n);
void sk_arena_free(sk_arena* a, void* p);
/* As aligned_alloc for an alignment up to 16 (every block's); a larger one
 * is refused (ENOMEM), one that is not a power of two too (EINVAL). */
void* sk_arena_aligned_alloc(sk_arena* a, size_t alignment, size_t n);
/* As malloc_usable_size: the bytes `p` may use (0 for NULL). */
size_t sk_arena_usable_size(const sk_arena* a, void* p);
/* 1 when `p` (a block of `a`) lies in its buffer, 0 when it is a mapping. */
int sk_arena_owns(const sk_arena* a, const void* p);

#ifdef __cplusplus
}
#endif

#endif /* SK_LIB_NETATTACH_SHIM_ARENA_H_ */
