#include "lib/deviceplugin/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace sk::deviceplugin {
namespace {

using ::sk::testing::IsOk;
using ::sk::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ValidateTest, BoundedQuotesEscapesAndCuts) {
  EXPECT_EQ(Bounded("0000:01:00.1"), "\"0000:01:00.1\"");
  EXPECT_EQ(Bounded("a\nb\"c"), "\"a\\nb\\\"c\"");
  EXPECT_EQ(Bounded(std::string(64, 'x')), "\"" + std::string(64, 'x') + "\"");
  EXPECT_EQ(Bounded(std::string(65, 'x')),
            "\"" + std::string(64, 'x') + "\"...(65 bytes)");
}

TEST(ValidateTest, DnsSubdomain) {
  for (const char* ok : {"intel.com", "a", "0.example-1.io", "a-b.c"}) {
    SCOPED_TRACE(ok);
    EXPECT_THAT(CheckDnsSubdomain(ok), IsOk());
  }
  struct Bad {
    std::string value;
    std::string why;
  };
  const std::string label64(64, 'a');
  const std::string long254 = label64 + "." + label64.substr(0, 63) + "." +
                              label64.substr(0, 63) + "." +
                              label64.substr(0, 61);
  for (const Bad& b : std::vector<Bad>{
           {"", "empty"},
           {"../x", "empty label"},
           {"a..b", "empty label"},
           {"a.", "empty label"},
           {"a/b", "byte \"/\" not allowed"},
           {"Intel.com", "byte \"I\" not allowed"},
           {"a_b", "byte \"_\" not allowed"},
           {"-a", "label \"-a\" starts or ends with '-'"},
           {label64 + ".com",
            "label \"" + label64 + "\" is 64 bytes, more than 63"},
           {long254, "254 bytes, more than 253"},
       }) {
    SCOPED_TRACE(b.value);
    EXPECT_THAT(
        CheckDnsSubdomain(b.value),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr(std::string(" is not a DNS subdomain: ") + b.why)));
  }
}

TEST(ValidateTest, QualifiedNamePart) {
  for (const char* ok : {"a", "sriov_netdev", "A-b.c_D9", "9"}) {
    SCOPED_TRACE(ok);
    EXPECT_THAT(CheckQualifiedNamePart(ok), IsOk());
  }
  EXPECT_THAT(CheckQualifiedNamePart(std::string(63, 'n')), IsOk());
  for (const std::string& bad :
       {std::string(""), std::string(64, 'n'), std::string("-a"),
        std::string("a_"), std::string(".."), std::string("a/b"),
        std::string("a b")}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(CheckQualifiedNamePart(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("is not a Kubernetes resource name: ")));
  }
}

TEST(ValidateTest, ExtendedResourceName) {
  EXPECT_THAT(CheckExtendedResourceName("intel.com", "x"), IsOk());
  EXPECT_THAT(CheckExtendedResourceName("kubernetes.io", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("kubernetes.io namespace is reserved")));
  EXPECT_THAT(CheckExtendedResourceName("a.kubernetes.io", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CheckExtendedResourceName("requests.example.com", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("reserved for quota")));
  std::string prefix245 = std::string(63, 'a') + "." + std::string(63, 'b') +
                          "." + std::string(63, 'c') + "." +
                          std::string(53, 'd');
  ASSERT_EQ(prefix245.size(), 245u);
  ASSERT_THAT(CheckDnsSubdomain(prefix245), IsOk());
  EXPECT_THAT(CheckExtendedResourceName(prefix245, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("prefix is 245 bytes; kubelet allows at most "
                                 "244")));
}

}  // namespace
}  // namespace sk::deviceplugin
