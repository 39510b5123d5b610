/* See shim_arena.h. Each block is a 16-byte header (the size asked for;
 * for a mapping, the size it was mapped for) followed by the block,
 * rounded up to 16 bytes. */
#define _GNU_SOURCE
#include "lib/netattach/shim_arena.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define SK_ARENA_HEADER ((size_t)16)

/* The bytes a block of `n` takes with its header; 0 on overflow. */
static size_t span(size_t n) {
  if (n == 0) n = 1;
  if (n > SIZE_MAX - SK_ARENA_HEADER - 15) return 0;
  return SK_ARENA_HEADER + ((n + 15) & ~(size_t)15);
}

static unsigned char* header_of(void* p) {
  return (unsigned char*)p - SK_ARENA_HEADER;
}

static size_t size_of(void* p) {
  size_t n;
  memcpy(&n, header_of(p), sizeof(n));
  return n;
}

static void set_size(unsigned char* header, size_t n) {
  memcpy(header, &n, sizeof(n));
}

void sk_arena_init(sk_arena* a, void* base, size_t size) {
  a->base = (unsigned char*)base;
  a->size = size;
  a->top = 0;
}

int sk_arena_owns(const sk_arena* a, const void* p) {
  const uintptr_t c = (uintptr_t)p;
  const uintptr_t b = (uintptr_t)a->base;
  return c >= b && c - b < a->size;
}

/* The offset of `p`'s header in the buffer. */
static size_t offset_of(const sk_arena* a, void* p) {
  return (size_t)(header_of(p) - a->base);
}

/* 1 when `p` (a buffer block) ends where the used part of the buffer
 * ends: it can grow, shrink or be given back in place. */
static int at_top(const sk_arena* a, void* p) {
  return offset_of(a, p) + span(size_of(p)) == a->top;
}

void* sk_arena_malloc(sk_arena* a, size_t n) {
  size_t need = span(n);
  if (need == 0) {
    errno = ENOMEM;
    return NULL;
  }
  if (need <= a->size - a->top) {
    unsigned char* h = a->base + a->top;
    set_size(h, n);
    a->top += need;
    return h + SK_ARENA_HEADER;
  }
  void* m = mmap(NULL, need, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    errno = ENOMEM;
    return NULL;
  }
  set_size((unsigned char*)m, n);
  return (unsigned char*)m + SK_ARENA_HEADER;
}

void* sk_arena_calloc(sk_arena* a, size_t count, size_t n) {
  if (n != 0 && count > SIZE_MAX / n) {
    errno = ENOMEM;
    return NULL;
  }
  void* p = sk_arena_malloc(a, count * n);
  /* A fresh mapping is zero already; the buffer may hold a freed block. */
  if (p != NULL && sk_arena_owns(a, p)) memset(p, 0, count * n);
  return p;
}

void sk_arena_free(sk_arena* a, void* p) {
  if (p == NULL) return;
  if (sk_arena_owns(a, p)) {
    if (at_top(a, p)) a->top = offset_of(a, p);
    return;
  }
  munmap(header_of(p), span(size_of(p)));
}

void* sk_arena_realloc(sk_arena* a, void* p, size_t n) {
  if (p == NULL) return sk_arena_malloc(a, n);
  size_t need = span(n);
  if (need == 0) {
    errno = ENOMEM;
    return NULL;
  }
  size_t old = size_of(p);
  if (sk_arena_owns(a, p)) {
    /* The block at the top grows or shrinks where it is; any other
     * shrinks where it is. */
    if (at_top(a, p) && need <= a->size - offset_of(a, p)) {
      set_size(header_of(p), n);
      a->top = offset_of(a, p) + need;
      return p;
    }
    if (need <= span(old)) {
      set_size(header_of(p), n);
      return p;
    }
  } else if (need <= span(old)) {
    /* A mapping already big enough is kept; its header keeps the size it
     * was mapped for, which free() unmaps. */
    return p;
  }
  void* q = sk_arena_malloc(a, n);
  if (q == NULL) return NULL;
  memcpy(q, p, old < n ? old : n);
  sk_arena_free(a, p);
  return q;
}

void* sk_arena_aligned_alloc(sk_arena* a, size_t alignment, size_t n) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    errno = EINVAL;
    return NULL;
  }
  if (alignment > SK_ARENA_HEADER) {
    errno = ENOMEM;
    return NULL;
  }
  return sk_arena_malloc(a, n);
}

size_t sk_arena_usable_size(const sk_arena* a, void* p) {
  (void)a;
  if (p == NULL) return 0;
  return span(size_of(p)) - SK_ARENA_HEADER;
}
