/* The fast path of the CNI shim `sriov-netattach`, in C.
 *
 * The runtime execs the shim twice per pod (ADD, DEL). On a VM where CPUID
 * traps to the hypervisor, glibc's start-up alone costs about 0.7 ms per
 * exec (docs/performance.md); a C program linked against musl starts in
 * about 0.2 ms. So `sriov-netattach` is this C code, built with musl where
 * the build machine has it, and the C++ shim (lib/netattach/shim_client.h)
 * is installed beside it as `sriov-netattach-full`.
 *
 * The fast path does the common call only: a well-formed config and a
 * reachable daemon. It reads stdin, checks that the C++ shim would take its
 * ordinary path (below), connects, sends the same request
 * (shim_protocol.h) and relays a well-formed reply. In every other case it
 * execs sriov-netattach-full, which gives the answer the C++ shim gives:
 *   - before anything is sent (VERSION with a config this code does not
 *     read, stdin it is not sure nlohmann accepts, a bad socketDir or
 *     daemonTimeoutSeconds, logLevel "debug", the connect failing), with
 *     the same stdin (from a memfd) and environment: it runs the whole call;
 *   - after the request is sent (a failed write, no reply, a reply it does
 *     not relay as is), with --fast-path-handoff naming the state
 *     (shim_client.h ShimHandoff): it reports as it would have.
 * So every error message and log line comes from the C++ shim; this code
 * formats none.
 *
 * The functions here are pure (no I/O) and bounded; the program is
 * src/cmd/sriov-netattach/main.c. Not thread-safe only in that an sk_buf
 * belongs to its caller. */
#ifndef SK_LIB_NETATTACH_SHIM_FAST_H_
#define SK_LIB_NETATTACH_SHIM_FAST_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
/* A C interface, named as C code is (the project's C++ naming rules do not
 * apply): NOLINTBEGIN(readability-identifier-naming) */

/* As in shim_protocol.h and shim_client.h. */
#define SK_FAST_MAX_STDIN_BYTES ((size_t)1 << 20)
#define SK_FAST_MAX_FRAME_BYTES ((size_t)8 << 20)
#define SK_FAST_MAX_DEPTH 64
#define SK_FAST_SOCKET_NAME "netattach.sock"
#define SK_FAST_DEFAULT_SOCKET_DIR "/run/sriovkit/netattach"
#define SK_FAST_DEFAULT_TIMEOUT_SECONDS 120
#define SK_FAST_MAX_TIMEOUT_SECONDS 3600
#define SK_FAST_SUN_PATH_BYTES 108

/* A growable byte buffer; `failed` once an allocation failed. */
typedef struct {
  char* data;
  size_t len;
  size_t cap;
  int failed;
} sk_buf;
void sk_buf_append(sk_buf* b, const char* s, size_t n);
void sk_buf_free(sk_buf* b);

enum {
  SK_JSON_ABSENT = 0,
  SK_JSON_STRING,
  SK_JSON_NUMBER,
  SK_JSON_OBJECT,
  SK_JSON_ARRAY,
  SK_JSON_LITERAL /* true, false, null */
};

/* A top-level member of an object, looked up by sk_json_scan. */
typedef struct {
  const char* key; /* in */
  int type;        /* out: SK_JSON_ABSENT when not there */
  /* out: the value's text; for a string, between its quotes (raw) */
  const char* raw;
  size_t raw_len;
  int escaped; /* out: a string value holding a backslash escape */
} sk_json_member;

/* 1 when `text` is a JSON text that nlohmann::json::parse accepts and that
 * ParseJsonBounded's limits allow; 0 when it is not, or when this scanner
 * is not sure (it accepts a subset: no byte order mark, no number that
 * could overflow a double, no top-level key written with an escape, at
 * most SK_FAST_MAX_DEPTH levels). UTF-8 is checked as nlohmann checks it.
 * On 1: *top_type is the value's type; for an object, each of `members`
 * describes the last member of that name (nlohmann keeps the last of
 * duplicates), and *other_members counts the members not in the list. */
int sk_json_scan(const char* text, size_t len, sk_json_member* members,
                 size_t n_members, int* top_type, size_t* other_members);

/* Appends the decoded value of a string that sk_json_scan accepted (`raw`,
 * between its quotes). 0 on a malformed escape. */
int sk_json_unescape(const char* raw, size_t len, sk_buf* out);

/* Appends `s` as a JSON string, byte for byte as nlohmann's dump writes
 * it: quoted; '"', '\\' and bytes below 0x20 escaped (\b \t \n \f \r, else
 * \u00xx); the rest as is, so `s` must be UTF-8. The request the fast path
 * sends is the C++ shim's, byte for byte. */
void sk_json_append_string(sk_buf* out, const char* s, size_t n);

/* 1 when `s` is well-formed UTF-8 (no overlong form, no surrogate, nothing
 * past U+10FFFF): what nlohmann requires of a string it dumps. */
int sk_utf8_valid(const char* s, size_t n);

typedef enum {
  SK_FAST_FALLBACK = 0, /* exec sriov-netattach-full with the same input */
  SK_FAST_SEND = 1,     /* send `body` to `socket_path` */
  SK_FAST_ANSWER = 2    /* print `body`, exit 0 (VERSION) */
} sk_fast_kind;

typedef struct {
  sk_fast_kind kind;
  const char* why; /* FALLBACK: why, for tests and debugging */
  char socket_path[SK_FAST_SUN_PATH_BYTES];
  int timeout_seconds;
  sk_buf body; /* SEND: the request's JSON body; ANSWER: what to print */
} sk_fast_plan;

/* What the fast path does with one call: `stdin_data` (`stdin_over_limit`
 * when stdin held more than SK_FAST_MAX_STDIN_BYTES) and `envp` (a
 * NULL-terminated "NAME=value" array, as environ). */
void sk_fast_plan_call(const char* stdin_data, size_t stdin_len,
                       int stdin_over_limit, char* const* envp,
                       sk_fast_plan* plan);
void sk_fast_plan_free(sk_fast_plan* plan);

/* 1 when `body` (a reply frame's body) is a response the C++ shim decodes
 * without error ({"exitCode": 0..255, "stdout": string}, nothing else) and
 * this code can read: sets *exit_code and appends stdout to `out`. 0
 * otherwise (the C++ shim then reads the reply itself). */
int sk_fast_decode_reply(const char* body, size_t len, int* exit_code,
                         sk_buf* out);

/* NOLINTEND(readability-identifier-naming) */
#ifdef __cplusplus
}
#endif

#endif /* SK_LIB_NETATTACH_SHIM_FAST_H_ */
