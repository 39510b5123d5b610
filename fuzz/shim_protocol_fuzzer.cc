// Fuzzes the decoders of the sriov-netattach <-> sriovkit-netattachd wire
// format (bytes the daemon takes from any local client, and the shim from
// whatever listens on the socket): request and response bodies and the
// frame header. A decoded request or response must encode and decode again
// to the same value.
#include <cstdint>
#include <string>

#include "lib/netattach/shim_protocol.h"

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
  return 0;
}
