/* sriov-netattach: the CNI meta-plugin binary (the Multus role), the fast
 * path. It forwards the common CNI call to sriovkit-netattachd over its
 * unix socket and relays the reply; everything else it hands to the C++
 * shim installed beside it, sriov-netattach-full (lib/netattach/shim_fast.h
 * says which cases and why this is C). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/netattach/shim_fast.h"

extern char** environ;

#define FULL_NAME "sriov-netattach-full"
/* A reply larger than this is read by the C++ shim (the fast path reads
 * it without taking it off the socket). */
#define PEEK_BYTES (64 * 1024)

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

/* The last resort, when sriov-netattach-full cannot run: a CNI error
 * (code 999, internal) naming it. */
static int cannot_run(const char* path, int err) {
  sk_buf msg = {0};
  sk_buf out = {0};
  const char* prefix = "sriov-netattach: cannot run ";
  sk_buf_append(&msg, prefix, strlen(prefix));
  sk_buf_append(&msg, path, strlen(path));
  sk_buf_append(&msg, ": ", 2);
  sk_buf_append(&msg, strerror(err), strlen(strerror(err)));
  const char* head = "{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":";
  sk_buf_append(&out, head, strlen(head));
  if (sk_utf8_valid(msg.data, msg.len)) {
    sk_json_append_string(&out, msg.data, msg.len);
  } else {
    sk_json_append_string(&out, prefix, strlen(prefix) - 1);
  }
  sk_buf_append(&out, "}\n", 2);
  if (!out.failed) write_all(STDOUT_FILENO, out.data, out.len);
  return 1;
}

/* Replaces this process with sriov-netattach-full from this binary's own
 * directory: `arg` (may be NULL) its one argument, `in` (`in_len` bytes)
 * its stdin unless `keep_stdin` (then its argv[0] is "sriov-netattach":
 * a person's arguments passed on, `--version` names what they ran). */
static int run_full(char* arg, const char* in, size_t in_len, int keep_stdin) {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return cannot_run(FULL_NAME, errno);
  path[n] = '\0';
  char* slash = strrchr(path, '/');
  if (slash == NULL ||
      (size_t)(slash + 1 - path) + sizeof(FULL_NAME) > sizeof(path)) {
    return cannot_run(FULL_NAME, ENAMETOOLONG);
  }
  memcpy(slash + 1, FULL_NAME, sizeof(FULL_NAME));
  if (!keep_stdin) {
    int fd = memfd_create("sriov-netattach-stdin", 0);
    if (fd < 0) return cannot_run(path, errno);
    if (!write_all(fd, in, in_len) || lseek(fd, 0, SEEK_SET) != 0 ||
        dup2(fd, STDIN_FILENO) < 0) {
      return cannot_run(path, errno);
    }
    close(fd);
  }
  char name[] = FULL_NAME;
  char fast_name[] = "sriov-netattach";
  char* argv[3] = {keep_stdin ? fast_name : name, arg, NULL};
  execve(path, argv, environ);
  return cannot_run(path, errno);
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A poll timeout for `left_us` microseconds, rounded up. */
static int poll_ms(long long left_us) {
  long long ms = (left_us + 999) / 1000;
  return (int)(ms > (1 << 30) ? (1 << 30) : ms);
}

/* Hands a call whose request is sent to sriov-netattach-full; exits with
 * the error of cannot_run when that cannot run. */
static _Noreturn void hand_off(const char* state, const char* in,
                               size_t in_len) {
  char arg[128];
  snprintf(arg, sizeof(arg), "--fast-path-handoff=%s", state);
  exit(run_full(arg, in, in_len, 0));
}

/* Sends the frame, or hands off. */
static void send_frame(int fd, const sk_buf* body, long long deadline,
                       const char* in, size_t in_len) {
  size_t total = 4 + body->len;
  unsigned char header[4] = {
      (unsigned char)(body->len >> 24), (unsigned char)(body->len >> 16),
      (unsigned char)(body->len >> 8), (unsigned char)body->len};
  size_t done = 0;
  char state[96];
  while (done < total) {
    long long left = deadline - now_us();
    struct pollfd p = {fd, POLLOUT, 0};
    if (left <= 0) {
      snprintf(state, sizeof(state), "write:0:%zu:%zu", done, total);
      hand_off(state, in, in_len);
    }
    if (poll(&p, 1, poll_ms(left)) <= 0) continue;
    struct iovec iov[2];
    int n_iov = 0;
    if (done < 4) {
      iov[n_iov].iov_base = header + done;
      iov[n_iov++].iov_len = 4 - done;
    }
    size_t body_done = done > 4 ? done - 4 : 0;
    iov[n_iov].iov_base = body->data + body_done;
    iov[n_iov++].iov_len = body->len - body_done;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
    ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      snprintf(state, sizeof(state), "write:%d:%zu:%zu", errno, done, total);
      hand_off(state, in, in_len);
    }
    done += (size_t)w;
  }
}

int main(int argc, char** argv) {
  /* A runtime passes no arguments: --version and the like are the C++
   * shim's. */
  if (argc > 1) return run_full(argv[1], NULL, 0, 1);

  size_t cap = SK_FAST_MAX_STDIN_BYTES + 1;
  char* in = (char*)malloc(cap);
  if (in == NULL) return run_full(NULL, NULL, 0, 1);
  size_t in_len = 0;
  while (in_len < cap) {
    ssize_t r = read(STDIN_FILENO, in + in_len, cap - in_len);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* Never a call with part of its config: the C++ shim reports the
       * error as if its own read had failed. */
      char state[64];
      snprintf(state, sizeof(state), "--fast-path-handoff=stdin:%d", errno);
      return run_full(state, in, in_len, 0);
    }
    if (r == 0) break;
    in_len += (size_t)r;
  }
  /* Shrunk to what was read, so that what is allocated next lies beside
   * it (malloc.c). */
  if (in_len < cap) {
    char* fit = (char*)realloc(in, in_len + 1);
    if (fit != NULL) in = fit;
  }

  sk_fast_plan plan;
  sk_fast_plan_call(in, in_len, in_len > SK_FAST_MAX_STDIN_BYTES, environ,
                    &plan);
  /* stdout that cannot be written does not change the exit code, as in
   * the C++ shim. */
  if (plan.kind == SK_FAST_ANSWER) {
    (void)write_all(STDOUT_FILENO, plan.body.data, plan.body.len);
    sk_fast_plan_free(&plan);
    free(in);
    return 0;
  }
  if (plan.kind != SK_FAST_SEND) return run_full(NULL, in, in_len, 0);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, plan.socket_path, strlen(plan.socket_path) + 1);
  /* Not connected at once (no socket, refused, the backlog full): the C++
   * shim retries and reports. */
  if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0)
    return run_full(NULL, in, in_len, 0);

  long long deadline = now_us() + (long long)plan.timeout_seconds * 1000000;
  send_frame(fd, &plan.body, deadline, in, in_len);
  shutdown(fd, SHUT_WR);

  /* The reply is looked at, not taken: whatever the fast path does not
   * relay, the C++ shim reads from the socket as if it had sent the
   * request itself. The daemon writes its reply at once (one send), so a
   * part of it, or none before the deadline, goes to the C++ shim too. */
  static char reply[PEEK_BYTES];
  char state[96];
  int queued = 0; /* a whole frame waits on the socket */
  while (1) {
    long long left = deadline - now_us();
    if (left <= 0) break;
    struct pollfd p = {fd, POLLIN, 0};
    int ready = poll(&p, 1, poll_ms(left));
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    if (ready < 0) break;
    ssize_t n = recv(fd, reply, sizeof(reply), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      snprintf(state, sizeof(state), "recv:%d", errno);
      hand_off(state, in, in_len);
    }
    if (n >= 4) {
      const unsigned char* h = (const unsigned char*)reply;
      size_t len = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) |
                   ((size_t)h[2] << 8) | (size_t)h[3];
      if (len <= sizeof(reply) - 4 && (size_t)n >= len + 4) {
        queued = 1;
        int code = 0;
        sk_buf out = {0};
        if (sk_fast_decode_reply(reply + 4, len, &code, &out)) {
          /* Closed first, as the C++ shim closes its socket before it
           * prints (with stdout closed, the socket may be fd 1). */
          close(fd);
          (void)write_all(STDOUT_FILENO, out.data, out.len);
          sk_buf_free(&out);
          sk_fast_plan_free(&plan);
          free(in);
          return code;
        }
        sk_buf_free(&out);
      }
    }
    break;
  }
  /* Any other end (time out, closed early, a part, too large, malformed):
   * the C++ shim reads the reply itself, with the time left (rounded up;
   * a whole frame already there is read at once, so its deadline cannot
   * pass in the C++ shim's start-up). */
  long long left_ms = (deadline - now_us() + 999) / 1000;
  if (left_ms < 0) left_ms = 0;
  if (queued && left_ms < 1000) left_ms = 1000;
  if (fcntl(fd, F_SETFD, 0) != 0) {
    /* Cannot happen for an open descriptor; reported as the read's. */
    snprintf(state, sizeof(state), "recv:%d", errno);
  } else {
    snprintf(state, sizeof(state), "reply:%d:%lld", fd, left_ms);
  }
  hand_off(state, in, in_len);
}
