// Fuzzes the decoders of the sriov-netattach <-> sriovkit-netattachd wire
// format (bytes the daemon takes from any local client, and the shim from
// whatever listens on the socket): request and response bodies and the
// frame header. A decoded request or response must encode and decode again
// to the same value.
//
// The same input drives the shim's C fast path (lib/netattach/shim_fast.h)
// against the C++ code it stands in for: what its scanner accepts, nlohmann
// accepts, with the same top-level members; a reply it relays, the C++
// decoder reads the same; a request it plans, the daemon decodes to the
// same stdin.
#include <cstdint>
#include <cstring>
#include <string>

#include "lib/base/json.h"
#include "lib/netattach/shim_fast.h"
#include "lib/netattach/shim_protocol.h"

namespace {

void CheckFastPath(const std::string& text) {
  sk_json_member m[2] = {};
  m[0].key = "a";
  m[1].key = "cniVersion";
  int top = 0;
  size_t others = 0;
  if (sk_json_scan(text.data(), text.size(), m, 2, &top, &others)) {
    auto j = sk::ParseJsonBounded(text);
    if (!j.ok()) __builtin_trap();
    if ((top == SK_JSON_OBJECT) != j->is_object()) __builtin_trap();
    for (const sk_json_member& member : m) {
      if (!j->is_object()) break;
      auto it = j->find(member.key);
      if ((member.type == SK_JSON_ABSENT) != (it == j->end())) __builtin_trap();
      if (member.type != SK_JSON_STRING) continue;
      if (!it->is_string()) __builtin_trap();
      sk_buf value{};
      if (!sk_json_unescape(member.raw, member.raw_len, &value) ||
          std::string(value.data ? value.data : "", value.len) !=
              it->get<std::string>()) {
        __builtin_trap();
      }
      sk_buf_free(&value);
    }
  }
  int code = -1;
  sk_buf out{};
  if (sk_fast_decode_reply(text.data(), text.size(), &code, &out)) {
    auto resp = sk::netattach::DecodeResponse(text);
    if (!resp.ok() || resp->exit_code != code ||
        resp->stdout_data != std::string(out.data ? out.data : "", out.len))
      __builtin_trap();
  }
  sk_buf_free(&out);
  char command[] = "CNI_COMMAND=ADD";
  char* env[] = {command, nullptr};
  sk_fast_plan plan;
  sk_fast_plan_call(text.data(), text.size(), 0, env, &plan);
  if (plan.kind == SK_FAST_SEND) {
    auto req = sk::netattach::DecodeRequest(
        std::string(plan.body.data, plan.body.len));
    if (!req.ok() || req->stdin_data != text) __builtin_trap();
  }
  sk_fast_plan_free(&plan);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (size >= 4) (void)sk::netattach::FrameLength(data);
  auto req = sk::netattach::DecodeRequest(text);
  if (req.ok()) {
    auto body = sk::netattach::EncodeRequest(*req);
    if (!body.ok()) __builtin_trap();
    auto again = sk::netattach::DecodeRequest(*body);
    if (!again.ok() || again->env != req->env ||
        again->stdin_data != req->stdin_data)
      __builtin_trap();
  }
  auto resp = sk::netattach::DecodeResponse(text);
  if (resp.ok()) {
    auto again =
        sk::netattach::DecodeResponse(sk::netattach::EncodeResponse(*resp));
    if (!again.ok() || again->exit_code != resp->exit_code ||
        again->stdout_data != resp->stdout_data)
      __builtin_trap();
  }
  CheckFastPath(text);
  return 0;
}
