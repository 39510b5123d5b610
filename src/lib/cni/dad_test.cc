#include "lib/cni/dad.h"

#include <linux/if_addr.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sk::cni {
namespace {

net::IpPrefix P(const char* text) { return *net::ParseIpPrefix(text); }
net::AddressInfo A(const char* text, uint32_t flags) {
  return {P(text), flags};
}

TEST(DadTest, SettledWhenNoWantedIpv6AddressIsTentative) {
  DadState st = EvaluateDad(
      {A("fd00::5/64", IFA_F_PERMANENT), A("fe80::1/64", IFA_F_TENTATIVE),
       A("10.0.0.5/24", IFA_F_PERMANENT)},
      {P("fd00::5/64"), P("10.0.0.5/24")});
  EXPECT_EQ(st.outcome, DadState::kSettled);
  EXPECT_EQ(st.address, "");
}

TEST(DadTest, PendingWhileAWantedAddressIsTentative) {
  EXPECT_EQ(EvaluateDad({A("fd00::5/64", IFA_F_PERMANENT),
                         A("fd00::6/64", IFA_F_TENTATIVE | IFA_F_PERMANENT)},
                        {P("fd00::5/64"), P("fd00::6/64")})
                .outcome,
            DadState::kPending);
}

TEST(DadTest, DadFailedNamesTheAddressEvenIfAnotherIsPending) {
  DadState st =
      EvaluateDad({A("fd00::5/64", IFA_F_TENTATIVE),
                   A("fd00::6/64", IFA_F_TENTATIVE | IFA_F_DADFAILED)},
                  {P("fd00::5/64"), P("fd00::6/64")});
  EXPECT_EQ(st.outcome, DadState::kFailed);
  EXPECT_EQ(st.address, "fd00::6/64");
  EXPECT_EQ(st.reason, "duplicate address detected (DADFAILED)");
}

TEST(DadTest, VanishedAddressIsAFailure) {
  DadState st =
      EvaluateDad({A("fd00::5/64", 0)}, {P("fd00::5/64"), P("fd00::7/64")});
  EXPECT_EQ(st.outcome, DadState::kFailed);
  EXPECT_EQ(st.address, "fd00::7/64");
  EXPECT_EQ(st.reason, "no longer configured");
}

TEST(DadTest, Ipv4OnlyNeedsNoWait) {
  EXPECT_EQ(EvaluateDad({}, {P("10.0.0.5/24")}).outcome, DadState::kSettled);
}

}  // namespace
}  // namespace sk::cni
