#include "lib/kubevirt/input.h"

#include <charconv>
#include <optional>
#include <regex>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/parser.h"

#include "lib/base/file_util.h"
#include "lib/base/json.h"
#include "lib/base/strings.h"
#include "lib/kubevirt/json_input.h"

namespace sk::kubevirt {
namespace {

using ojson = nlohmann::ordered_json;

std::string Where(const YAML::Mark& m) {
  return sk::StrCat("line ", m.line + 1, ", column ", m.column + 1);
}

// Watches yaml-cpp's parse events for what YAML::Load* would not survive or
// should not accept; records the first problem. Builds nothing.
class BoundsChecker : public YAML::EventHandler {
 public:
  explicit BoundsChecker(size_t max_depth) : max_depth_(max_depth) {}

  void OnDocumentStart(const YAML::Mark& mark) override { doc_start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node(mark, anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Fail(mark,
         "alias: anchors and aliases are not accepted (Kubernetes "
         "objects never need them, and an alias can stand for an "
         "exponentially large tree)");
  }
  void OnScalar(const YAML::Mark& mark, const std::string&,
                YAML::anchor_t anchor, const std::string&) override {
    Node(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&,
                       YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&,
                  YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { --depth_; }
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    Fail(mark, sk::StrCat("anchor &", name,
                          ": anchors and aliases are not accepted (Kubernetes "
                          "objects never need them, and an alias can stand "
                          "for an exponentially large tree)"));
  }

  const absl::Status& status() const { return status_; }
  const YAML::Mark& doc_start() const { return doc_start_; }

 private:
  void Node(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      Fail(mark,
           "anchor: anchors and aliases are not accepted (Kubernetes "
           "objects never need them)");
    }
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    Node(mark, anchor);
    if (++depth_ > max_depth_) {
      Fail(mark, sk::StrCat("nested deeper than ", max_depth_, " levels"));
    }
  }
  void Fail(const YAML::Mark& mark, std::string_view why) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(
          sk::StrCat("YAML at ", Where(mark), ": ", why));
    }
  }

  const size_t max_depth_;
  size_t depth_ = 0;
  YAML::Mark doc_start_;
  absl::Status status_;
};

// Parses events only, up to `max_documents`, and fails on anything the
// checker or yaml-cpp rejects or on a document that does not advance.
absl::Status CheckYaml(std::string_view text, const YamlLimits& limits,
                       size_t max_documents) {
  std::istringstream in{std::string(text)};
  BoundsChecker checker(limits.max_depth);
  std::optional<int> last_start;
  size_t documents = 0;
  try {
    YAML::Parser parser(in);
    while (documents < max_documents && parser.HandleNextDocument(checker)) {
      if (!checker.status().ok()) return checker.status();
      const YAML::Mark& start = checker.doc_start();
      if (last_start == start.pos) {
        const char c =
            start.pos >= 0 && static_cast<size_t>(start.pos) < text.size()
                ? text[static_cast<size_t>(start.pos)]
                : ' ';
        return absl::InvalidArgumentError(
            sk::StrCat("not valid YAML or JSON at ", Where(start),
                       ": no document can start with '",
                       absl::CHexEscape(ToAbsl({&c, 1})), "'"));
      }
      last_start = start.pos;
      ++documents;
    }
  } catch (const YAML::Exception& e) {
    // A limit the checker saw first is the better reason (yaml-cpp's own
    // depth guard throws much deeper down).
    if (!checker.status().ok()) return checker.status();
    return absl::InvalidArgumentError(
        sk::StrCat("not valid YAML or JSON: ", e.what()));
  }
  return checker.status();
}

bool LooksLikeJson(std::string_view text) {
  std::string_view t = ToStd(absl::StripLeadingAsciiWhitespace(ToAbsl(text)));
  return !t.empty() && (t[0] == '{' || t[0] == '[');
}

// Depth is bounded by ParseJsonBounded, so recursion is safe. Strings get
// yaml-cpp's tag for a quoted scalar ("!"), as when yaml-cpp reads JSON, so
// "5" is still a string to the typed readers.
YAML::Node ToYaml(const ojson& j) {
  switch (j.type()) {
    case ojson::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, v] : j.items()) n[k] = ToYaml(v);
      return n;
    }
    case ojson::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const ojson& v : j) n.push_back(ToYaml(v));
      return n;
    }
    case ojson::value_t::string: {
      YAML::Node n(j.get<std::string>());
      n.SetTag("!");
      return n;
    }
    case ojson::value_t::null:
    case ojson::value_t::discarded:
      return YAML::Node(YAML::NodeType::Null);
    default:  // booleans and numbers, as plain scalars
      return YAML::Node(j.dump());
  }
}

absl::StatusOr<YAML::Node> FromJson(std::string_view text,
                                    const YamlLimits& limits) {
  absl::StatusOr<ojson> j = ParseJsonBounded<ojson>(
      text, {.max_depth = limits.max_depth, .max_bytes = limits.max_bytes});
  if (!j.ok()) return j.status();
  return ToYaml(*j);
}

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or npos. Written
// here because none of our libraries exposes a validator; nlohmann checks
// JSON strings itself, yaml-cpp checks nothing.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

// Size, then encoding: Kubernetes objects are UTF-8 (the API server refuses
// anything else), and a name that is not UTF-8 cannot be written back into
// the JSON of an annotation.
absl::Status CheckSizeAndEncoding(std::string_view text,
                                  const YamlLimits& limits) {
  if (text.size() > limits.max_bytes)
    return absl::InvalidArgumentError(
        sk::StrCat("input of ", text.size(), " bytes exceeds the ",
                   limits.max_bytes, "-byte limit"));
  if (size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos)
    return absl::InvalidArgumentError(
        sk::StrCat("not valid UTF-8 at byte ", bad));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadInputFile(const std::filesystem::path& path) {
  return ReadFileBounded(path, kMaxInputFileBytes);
}

absl::StatusOr<YAML::Node> LoadYamlDocument(std::string_view text,
                                            const YamlLimits& limits) {
  if (absl::Status s = CheckSizeAndEncoding(text, limits); !s.ok()) return s;
  if (LooksLikeJson(text)) return FromJson(text, limits);
  if (absl::Status s = CheckYaml(text, limits, 1); !s.ok()) return s;
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        sk::StrCat("not valid YAML or JSON: ", e.what()));
  }
}

absl::StatusOr<std::vector<YAML::Node>> LoadYamlDocuments(
    std::string_view text, const YamlLimits& limits) {
  if (absl::Status s = CheckSizeAndEncoding(text, limits); !s.ok()) return s;
  if (LooksLikeJson(text)) {
    absl::StatusOr<YAML::Node> doc = FromJson(text, limits);
    if (!doc.ok()) return doc.status();
    return std::vector<YAML::Node>{*std::move(doc)};
  }
  // Every document is checked, so LoadAll below cannot loop.
  if (absl::Status s = CheckYaml(text, limits, text.size() + 1); !s.ok()) {
    return s;
  }
  try {
    return YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        sk::StrCat("not valid YAML or JSON: ", e.what()));
  }
}

namespace {

using Json = nlohmann::ordered_json;

Json Scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex kInt("^[-+]?[0-9]+$");
  if (std::regex_match(s, kInt)) {
    int64_t v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
    return s;
  }
  static const std::regex kFloat(
      "^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
  if (std::regex_match(s, kFloat)) return std::stod(s);
  return s;
}

// Depth is bounded by the loader (64), so recursion is safe.
Json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json j = Json::object();
      for (const auto& kv : n) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
        j[key] = ToJson(kv.second);
      }
      return j;
    }
    case YAML::NodeType::Sequence: {
      Json j = Json::array();
      for (const auto& v : n) j.push_back(ToJson(v));
      return j;
    }
    case YAML::NodeType::Scalar:
      return Scalar(n);
    default:
      return nullptr;
  }
}

}  // namespace

absl::StatusOr<std::vector<Json>> LoadJsonDocuments(std::string_view text,
                                                    std::string_view source) {
  absl::StatusOr<std::vector<YAML::Node>> docs = LoadYamlDocuments(text);
  if (!docs.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": ", docs.status().message()));
  }
  std::vector<Json> out;
  try {
    for (const YAML::Node& d : *docs) out.push_back(ToJson(d));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(sk::StrCat(source, ": ", e.what()));
  }
  return out;
}

absl::StatusOr<Json> LoadJsonDocument(std::string_view text,
                                      std::string_view source) {
  absl::StatusOr<YAML::Node> doc = LoadYamlDocument(text);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        sk::StrCat(source, ": ", doc.status().message()));
  }
  try {
    return ToJson(*doc);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(sk::StrCat(source, ": ", e.what()));
  }
}

}  // namespace sk::kubevirt
