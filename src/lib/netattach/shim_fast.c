/* The CNI shim's fast path: see shim_fast.h. Hand-written rather than a
 * JSON library: the point of this file is a program that links nothing but
 * a small libc, and it needs only a validating scan, the top-level members
 * and string escapes (the C++ shim, which uses nlohmann, handles the rest).
 */
#include "lib/netattach/shim_fast.h"

#include <stdlib.h>
#include <string.h>

void sk_buf_append(sk_buf* b, const char* s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char* d = (char*)realloc(b->data, cap);
    if (d == NULL) {
      b->failed = 1;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  if (n > 0) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void sk_buf_free(sk_buf* b) {
  free(b->data);
  memset(b, 0, sizeof(*b));
}

static void append_str(sk_buf* b, const char* s) {
  sk_buf_append(b, s, strlen(s));
}

/* The length of the UTF-8 sequence at `p` (Unicode's table of well-formed
 * byte sequences), 0 when malformed. */
static size_t utf8_seq(const unsigned char* p, size_t avail) {
  unsigned c = p[0];
  size_t n;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (avail < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return n;
}

int sk_utf8_valid(const char* s, size_t n) {
  const unsigned char* p = (const unsigned char*)s;
  size_t i = 0;
  while (i < n) {
    size_t k = utf8_seq(p + i, n - i);
    if (k == 0) return 0;
    i += k;
  }
  return 1;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at `p` (at least 4 bytes available). */
static int hex4(const unsigned char* p, unsigned* out) {
  unsigned v = 0;
  for (int i = 0; i < 4; ++i) {
    int h = hex_value(p[i]);
    if (h < 0) return 0;
    v = (v << 4) | (unsigned)h;
  }
  *out = v;
  return 1;
}

/* The code point of the escape at `p` ("\uXXXX", a high surrogate followed
 * by a low one counting as one), and its length in *len; 0 when
 * malformed (a lone surrogate, as nlohmann refuses it). */
static int unicode_escape(const unsigned char* p, const unsigned char* end,
                          unsigned* cp, size_t* len) {
  unsigned hi;
  unsigned lo;
  if (end - p < 6 || !hex4(p + 2, &hi)) return 0;
  if (hi >= 0xDC00 && hi <= 0xDFFF) return 0;
  if (hi < 0xD800 || hi > 0xDBFF) {
    *cp = hi;
    *len = 6;
    return 1;
  }
  if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &lo) ||
      lo < 0xDC00 || lo > 0xDFFF) {
    return 0;
  }
  *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  *len = 12;
  return 1;
}

typedef struct {
  const unsigned char* p;
  const unsigned char* end;
} scanner;

static void skip_ws(scanner* s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    ++s->p;
}

/* A string, `s->p` at its opening quote; leaves `s->p` past the closing
 * one. */
static int scan_string(scanner* s, int* escaped) {
  ++s->p;
  while (s->p < s->end) {
    unsigned c = *s->p;
    if (c == '"') {
      ++s->p;
      return 1;
    }
    if (c < 0x20) return 0;
    if (c == '\\') {
      *escaped = 1;
      if (s->end - s->p < 2) return 0;
      switch (s->p[1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          s->p += 2;
          break;
        case 'u': {
          unsigned cp;
          size_t n;
          if (!unicode_escape(s->p, s->end, &cp, &n)) return 0;
          s->p += n;
          break;
        }
        default:
          return 0;
      }
      continue;
    }
    size_t n = utf8_seq(s->p, (size_t)(s->end - s->p));
    if (n == 0) return 0;
    s->p += n;
  }
  return 0;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A number as RFC 8259 writes it, short enough that it is finite as a
 * double (nlohmann refuses one that overflows). */
static int scan_number(scanner* s) {
  const unsigned char* start = s->p;
  if (*s->p == '-') ++s->p;
  if (s->p >= s->end) return 0;
  if (*s->p == '0') {
    ++s->p;
  } else if (is_digit(*s->p)) {
    while (s->p < s->end && is_digit(*s->p)) ++s->p;
  } else {
    return 0;
  }
  if (s->p < s->end && *s->p == '.') {
    ++s->p;
    if (s->p >= s->end || !is_digit(*s->p)) return 0;
    while (s->p < s->end && is_digit(*s->p)) ++s->p;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    ++s->p;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) ++s->p;
    const unsigned char* digits = s->p;
    while (s->p < s->end && is_digit(*s->p)) ++s->p;
    if (s->p == digits || s->p - digits > 2) return 0;
  }
  /* At most 40 characters and an exponent of two digits: below 1e140. */
  return s->p - start <= 40;
}

static int scan_literal(scanner* s) {
  static const char* const kLiterals[] = {"true", "false", "null"};
  for (size_t i = 0; i < 3; ++i) {
    size_t n = strlen(kLiterals[i]);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, kLiterals[i], n) == 0) {
      s->p += n;
      return 1;
    }
  }
  return 0;
}

int sk_json_scan(const char* text, size_t len, sk_json_member* members,
                 size_t n_members, int* top_type, size_t* other_members) {
  scanner s = {(const unsigned char*)text, (const unsigned char*)text + len};
  char stack[SK_FAST_MAX_DEPTH];
  size_t depth = 0;
  /* The top-level member whose value is being scanned (-1: none of
   * `members`), and where its value starts. */
  long member = -1;
  int member_type = SK_JSON_ABSENT;
  int member_escaped = 0;
  const unsigned char* value_start = NULL;
  for (size_t i = 0; i < n_members; ++i) members[i].type = SK_JSON_ABSENT;
  *other_members = 0;
  *top_type = SK_JSON_ABSENT;

value:
  skip_ws(&s);
  if (s.p >= s.end) return 0;
  {
    unsigned char c = *s.p;
    int type;
    int escaped = 0;
    const unsigned char* start = s.p;
    if (c == '{' || c == '[') {
      type = c == '{' ? SK_JSON_OBJECT : SK_JSON_ARRAY;
    } else if (c == '"') {
      type = SK_JSON_STRING;
    } else if (c == '-' || is_digit(c)) {
      type = SK_JSON_NUMBER;
    } else {
      type = SK_JSON_LITERAL;
    }
    if (depth == 0) *top_type = type;
    if (depth == 1 && stack[0] == '{') {
      value_start = start;
      member_type = type;
    }
    if (type == SK_JSON_OBJECT || type == SK_JSON_ARRAY) {
      if (depth == SK_FAST_MAX_DEPTH) return 0;
      stack[depth++] = (char)c;
      ++s.p;
      skip_ws(&s);
      if (s.p < s.end && *s.p == (c == '{' ? '}' : ']')) {
        ++s.p;
        --depth;
        goto after;
      }
      if (c == '{') goto key;
      goto value;
    }
    if (type == SK_JSON_STRING) {
      if (!scan_string(&s, &escaped)) return 0;
    } else if (type == SK_JSON_NUMBER) {
      if (!scan_number(&s)) return 0;
    } else if (!scan_literal(&s)) {
      return 0;
    }
    if (depth == 1 && stack[0] == '{') member_escaped = escaped;
    goto after;
  }

key:
  skip_ws(&s);
  if (s.p >= s.end || *s.p != '"') return 0;
  {
    const unsigned char* start = s.p + 1;
    int escaped = 0;
    if (!scan_string(&s, &escaped)) return 0;
    if (depth == 1) {
      size_t n = (size_t)(s.p - 1 - start);
      /* nlohmann compares decoded names: an escaped one is not read here. */
      if (escaped) return 0;
      member = -1;
      for (size_t i = 0; i < n_members; ++i) {
        if (strlen(members[i].key) == n &&
            memcmp(members[i].key, start, n) == 0)
          member = (long)i;
      }
      if (member < 0) ++*other_members;
    }
  }
  skip_ws(&s);
  if (s.p >= s.end || *s.p != ':') return 0;
  ++s.p;
  goto value;

after:
  if (depth == 1 && stack[0] == '{' && value_start != NULL) {
    if (member >= 0) {
      sk_json_member* m = &members[member];
      m->type = member_type;
      m->raw = (const char*)value_start;
      m->raw_len = (size_t)(s.p - value_start);
      m->escaped = member_type == SK_JSON_STRING && member_escaped;
      if (member_type == SK_JSON_STRING) {
        m->raw += 1;
        m->raw_len -= 2;
      }
    }
    value_start = NULL;
    member_escaped = 0;
  }
  skip_ws(&s);
  if (depth == 0) return s.p == s.end;
  if (s.p >= s.end) return 0;
  if (*s.p == ',') {
    ++s.p;
    if (stack[depth - 1] == '{') goto key;
    goto value;
  }
  if (*s.p == (stack[depth - 1] == '{' ? '}' : ']')) {
    ++s.p;
    --depth;
    goto after;
  }
  return 0;
}

static void append_utf8(sk_buf* out, unsigned cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) {
    b[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  sk_buf_append(out, b, n);
}

int sk_json_unescape(const char* raw, size_t len, sk_buf* out) {
  const unsigned char* p = (const unsigned char*)raw;
  const unsigned char* end = p + len;
  while (p < end) {
    const unsigned char* run = p;
    while (p < end && *p != '\\') ++p;
    sk_buf_append(out, (const char*)run, (size_t)(p - run));
    if (p == end) break;
    if (end - p < 2) return 0;
    char c;
    switch (p[1]) {
      case '"':
        c = '"';
        break;
      case '\\':
        c = '\\';
        break;
      case '/':
        c = '/';
        break;
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      case 'u': {
        unsigned cp;
        size_t n;
        if (!unicode_escape(p, end, &cp, &n)) return 0;
        append_utf8(out, cp);
        p += n;
        continue;
      }
      default:
        return 0;
    }
    sk_buf_append(out, &c, 1);
    p += 2;
  }
  return !out->failed;
}

void sk_json_append_string(sk_buf* out, const char* s, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  sk_buf_append(out, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    sk_buf_append(out, s + run, i - run);
    run = i + 1;
    /* nlohmann's escapes, byte for byte: the short ones where JSON has
     * them, else \u00xx in lower case. */
    char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
    size_t len = 2;
    switch (c) {
      case '"':
      case '\\':
        esc[1] = (char)c;
        break;
      case '\b':
        esc[1] = 'b';
        break;
      case '\t':
        esc[1] = 't';
        break;
      case '\n':
        esc[1] = 'n';
        break;
      case '\f':
        esc[1] = 'f';
        break;
      case '\r':
        esc[1] = 'r';
        break;
      default:
        len = 6;
    }
    sk_buf_append(out, esc, len);
  }
  sk_buf_append(out, s + run, n - run);
  sk_buf_append(out, "\"", 1);
}

static int raw_equals(const sk_json_member* m, const char* s) {
  return m->raw_len == strlen(s) && memcmp(m->raw, s, m->raw_len) == 0;
}

/* The decimal integer `m` holds when it is written as plain digits without
 * a leading zero and is at most `max`; -1 otherwise. */
static long small_integer(const sk_json_member* m, long max) {
  if (m->type != SK_JSON_NUMBER || m->raw_len == 0 || m->raw_len > 9) return -1;
  if (m->raw[0] == '0' && m->raw_len > 1) return -1;
  long v = 0;
  for (size_t i = 0; i < m->raw_len; ++i) {
    if (!is_digit((unsigned char)m->raw[i])) return -1;
    v = v * 10 + (m->raw[i] - '0');
  }
  return v <= max ? v : -1;
}

static int fallback(sk_fast_plan* plan, const char* why) {
  sk_buf_free(&plan->body);
  plan->kind = SK_FAST_FALLBACK;
  plan->why = why;
  return 0;
}

static int all_whitespace(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
  return 1;
}

/* CNI_COMMAND=VERSION, as lib/cni/version.h VersionJson: the config's
 * cniVersion when it has one (a non-string or empty one reads "1.0.0"),
 * else the newest supported version. */
static void plan_version(const char* in, size_t in_len, int scanned,
                         int top_type, const sk_json_member* cni_version,
                         sk_fast_plan* plan) {
  const char* version = "1.1.0";
  size_t version_len = strlen(version);
  if (!scanned) {
    /* nlohmann refuses an empty config too; anything else is its call. */
    if (!all_whitespace(in, in_len)) {
      fallback(plan, "VERSION with a config this scanner is not sure of");
      return;
    }
  } else if (top_type == SK_JSON_OBJECT &&
             cni_version->type != SK_JSON_ABSENT) {
    if (cni_version->type == SK_JSON_STRING && cni_version->raw_len > 0) {
      if (cni_version->escaped) {
        fallback(plan, "VERSION with an escaped cniVersion");
        return;
      }
      version = cni_version->raw;
      version_len = cni_version->raw_len;
    } else {
      version = "1.0.0";
      version_len = strlen(version);
    }
  }
  plan->kind = SK_FAST_ANSWER;
  append_str(&plan->body, "{\"cniVersion\":\"");
  sk_buf_append(&plan->body, version, version_len);
  append_str(&plan->body,
             "\",\"supportedVersions\":"
             "[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n");
}

typedef struct {
  const char* kv;
  size_t key_len;
} env_entry;

/* std::string's order, which the C++ shim's std::map has: bytes compared
 * as unsigned char, a prefix first. */
static int compare_keys(const void* a, const void* b) {
  const env_entry* x = (const env_entry*)a;
  const env_entry* y = (const env_entry*)b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->kv, y->kv, n);
  if (c != 0) return c;
  return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* The request's "env" as the C++ shim writes it: every CNI_* variable, the
 * first of duplicates (as its map keeps it), in its map's order. 0 when
 * one is not UTF-8. */
static int append_env(sk_buf* out, char* const* envp) {
  size_t count = 0;
  while (envp != NULL && envp[count] != NULL) ++count;
  env_entry* entries = (env_entry*)malloc((count + 1) * sizeof(env_entry));
  if (entries == NULL) return 0;
  size_t n = 0;
  for (size_t i = 0; i < count; ++i) {
    const char* kv = envp[i];
    const char* eq = strchr(kv, '=');
    if (eq == NULL || strncmp(kv, "CNI_", 4) != 0) continue;
    size_t key_len = (size_t)(eq - kv);
    int seen = 0;
    for (size_t j = 0; j < n && !seen; ++j) {
      seen = entries[j].key_len == key_len &&
             memcmp(entries[j].kv, kv, key_len) == 0;
    }
    if (seen) continue;
    if (!sk_utf8_valid(kv, key_len) || !sk_utf8_valid(eq + 1, strlen(eq + 1))) {
      free(entries);
      return 0;
    }
    entries[n].kv = kv;
    entries[n].key_len = key_len;
    ++n;
  }
  qsort(entries, n, sizeof(env_entry), compare_keys);
  sk_buf_append(out, "{", 1);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) sk_buf_append(out, ",", 1);
    const char* value = entries[i].kv + entries[i].key_len + 1;
    sk_json_append_string(out, entries[i].kv, entries[i].key_len);
    sk_buf_append(out, ":", 1);
    sk_json_append_string(out, value, strlen(value));
  }
  sk_buf_append(out, "}", 1);
  free(entries);
  return 1;
}

static const char* env_value(char* const* envp, const char* name) {
  size_t n = strlen(name);
  for (size_t i = 0; envp != NULL && envp[i] != NULL; ++i) {
    if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
      return envp[i] + n + 1;
  }
  return NULL;
}

void sk_fast_plan_call(const char* stdin_data, size_t stdin_len,
                       int stdin_over_limit, char* const* envp,
                       sk_fast_plan* plan) {
  enum { kCniVersion, kSocketDir, kTimeout, kLogLevel, kMembers };
  sk_json_member m[kMembers] = {{.key = "cniVersion"},
                                {.key = "socketDir"},
                                {.key = "daemonTimeoutSeconds"},
                                {.key = "logLevel"}};
  memset(plan, 0, sizeof(*plan));
  plan->kind = SK_FAST_FALLBACK;
  if (stdin_over_limit) {
    fallback(plan, "stdin over the limit");
    return;
  }
  const char* command = env_value(envp, "CNI_COMMAND");
  int top_type = SK_JSON_ABSENT;
  size_t others = 0;
  int scanned =
      sk_json_scan(stdin_data, stdin_len, m, kMembers, &top_type, &others);
  if (command != NULL && strcmp(command, "VERSION") == 0) {
    plan_version(stdin_data, stdin_len, scanned, top_type, &m[kCniVersion],
                 plan);
    return;
  }
  if (command == NULL ||
      (strcmp(command, "ADD") != 0 && strcmp(command, "DEL") != 0 &&
       strcmp(command, "CHECK") != 0 && strcmp(command, "GC") != 0 &&
       strcmp(command, "STATUS") != 0)) {
    fallback(plan, "CNI_COMMAND not one the fast path sends");
    return;
  }
  if (!scanned || top_type != SK_JSON_OBJECT) {
    fallback(plan, "stdin not a JSON object this scanner is sure of");
    return;
  }

  const char* dir = SK_FAST_DEFAULT_SOCKET_DIR;
  size_t dir_len = strlen(dir);
  if (m[kSocketDir].type != SK_JSON_ABSENT) {
    if (m[kSocketDir].type != SK_JSON_STRING || m[kSocketDir].escaped ||
        m[kSocketDir].raw_len == 0) {
      fallback(plan, "socketDir not a plain non-empty string");
      return;
    }
    dir = m[kSocketDir].raw;
    dir_len = m[kSocketDir].raw_len;
  }
  const size_t name_len = strlen("/" SK_FAST_SOCKET_NAME);
  if (dir_len + name_len >= SK_FAST_SUN_PATH_BYTES) {
    fallback(plan, "socket path over the unix socket limit");
    return;
  }
  memcpy(plan->socket_path, dir, dir_len);
  memcpy(plan->socket_path + dir_len, "/" SK_FAST_SOCKET_NAME, name_len + 1);

  plan->timeout_seconds = SK_FAST_DEFAULT_TIMEOUT_SECONDS;
  if (m[kTimeout].type != SK_JSON_ABSENT) {
    long t = small_integer(&m[kTimeout], SK_FAST_MAX_TIMEOUT_SECONDS);
    if (t < 1) {
      fallback(plan, "daemonTimeoutSeconds not an integer in [1, 3600]");
      return;
    }
    plan->timeout_seconds = (int)t;
  }
  /* The C++ shim logs one line at debug before it connects. */
  if (m[kLogLevel].type != SK_JSON_ABSENT &&
      (m[kLogLevel].type != SK_JSON_STRING || m[kLogLevel].escaped ||
       !(raw_equals(&m[kLogLevel], "") || raw_equals(&m[kLogLevel], "panic") ||
         raw_equals(&m[kLogLevel], "error") ||
         raw_equals(&m[kLogLevel], "verbose")))) {
    fallback(plan, "logLevel debug (or not one this code reads)");
    return;
  }

  append_str(&plan->body, "{\"version\":1,\"env\":");
  if (!append_env(&plan->body, envp)) {
    fallback(plan, "a CNI_* variable not UTF-8");
    return;
  }
  append_str(&plan->body, ",\"stdin\":");
  sk_json_append_string(&plan->body, stdin_data, stdin_len);
  append_str(&plan->body, "}");
  if (plan->body.failed || plan->body.len > SK_FAST_MAX_FRAME_BYTES) {
    fallback(plan, "request over the frame limit");
    return;
  }
  plan->kind = SK_FAST_SEND;
}

void sk_fast_plan_free(sk_fast_plan* plan) { sk_buf_free(&plan->body); }

int sk_fast_decode_reply(const char* body, size_t len, int* exit_code,
                         sk_buf* out) {
  sk_json_member m[2] = {{.key = "exitCode"}, {.key = "stdout"}};
  int top_type = SK_JSON_ABSENT;
  size_t others = 0;
  if (!sk_json_scan(body, len, m, 2, &top_type, &others)) return 0;
  if (top_type != SK_JSON_OBJECT || others != 0) return 0;
  long code = small_integer(&m[0], 255);
  if (code < 0 || m[1].type != SK_JSON_STRING) return 0;
  if (!sk_json_unescape(m[1].raw, m[1].raw_len, out)) return 0;
  *exit_code = (int)code;
  return 1;
}
