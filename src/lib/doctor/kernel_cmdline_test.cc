#include "lib/doctor/kernel_cmdline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sk::doctor {

void PrintTo(const KernelParam& p, std::ostream* os) {
  *os << p.name;
  if (p.value) *os << "=[" << *p.value << "]";
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

KernelParam P(std::string name) { return KernelParam{std::move(name), {}}; }
KernelParam P(std::string name, std::string value) {
  return KernelParam{std::move(name), std::move(value)};
}

TEST(ParseKernelCmdlineTest, SplitsNamesAndValues) {
  KernelCmdline c = ParseKernelCmdline(
      "BOOT_IMAGE=/vmlinuz-6.1.0-13-amd64 root=UUID=ab-cd ro quiet "
      "intel_iommu=on,sm_on iommu=pt\n");
  EXPECT_THAT(c.params,
              ElementsAre(P("BOOT_IMAGE", "/vmlinuz-6.1.0-13-amd64"),
                          P("root", "UUID=ab-cd"), P("ro"), P("quiet"),
                          P("intel_iommu", "on,sm_on"), P("iommu", "pt")));
  EXPECT_THAT(c.init_args, IsEmpty());
}

TEST(ParseKernelCmdlineTest, EmptyAndWhitespaceOnly) {
  EXPECT_THAT(ParseKernelCmdline("").params, IsEmpty());
  EXPECT_THAT(ParseKernelCmdline(" \t\n ").params, IsEmpty());
}

TEST(ParseKernelCmdlineTest, QuotesFollowTheKernel) {
  struct Case {
    const char* text;
    KernelParam want;
  };
  const Case cases[] = {
      // Quoted value: spaces kept, quotes dropped.
      {R"(dyndbg="file vfio.c +p")", P("dyndbg", "file vfio.c +p")},
      // Whole argument quoted.
      {R"("acpi_osi=Windows 2020")", P("acpi_osi", "Windows 2020")},
      // A quote in the middle of the value toggles but is kept.
      {R"(a=b"c d"e)", P("a", R"(b"c d"e)")},
      // Quoted flag without a value.
      {R"("quiet")", P("quiet")},
      // Empty value is a value, not a flag.
      {"console=", P("console", "")},
      // Only the first '=' separates.
      {"root=PARTUUID=1=2", P("root", "PARTUUID=1=2")},
      // Unterminated quote runs to the end of the line.
      {R"(x="a b)", P("x", "a b")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_THAT(ParseKernelCmdline(c.text).params, ElementsAre(c.want));
  }
}

TEST(ParseKernelCmdlineTest, DoubleDashEndsKernelArguments) {
  KernelCmdline c = ParseKernelCmdline(
      "console=ttyS0 panic=1 -- --firecracker-init --addr 0.0.0.0:2024 "
      "intel_iommu=on");
  EXPECT_THAT(c.params, ElementsAre(P("console", "ttyS0"), P("panic", "1")));
  EXPECT_THAT(c.init_args,
              ElementsAre(P("--firecracker-init"), P("--addr"),
                          P("0.0.0.0:2024"), P("intel_iommu", "on")));
  // Arguments after -- are for init, never for the IOMMU.
  EXPECT_EQ(InterpretIommuCmdline(c).intel_iommu, Switch::kUnset);
}

TEST(ParseKernelCmdlineTest, QuotedDoubleDashIsAnArgument) {
  // The kernel compares the unquoted param with "--" only when it has no
  // value; "--=x" is an ordinary (unknown) argument.
  KernelCmdline c = ParseKernelCmdline("--=x ro");
  EXPECT_THAT(c.params, ElementsAre(P("--", "x"), P("ro")));
}

TEST(KernelParamNameEqualsTest, DashAndUnderscoreAreEqual) {
  EXPECT_TRUE(KernelParamNameEquals("intel-iommu", "intel_iommu"));
  EXPECT_TRUE(KernelParamNameEquals("intel_iommu", "intel_iommu"));
  EXPECT_FALSE(KernelParamNameEquals("intel_iommu", "intel_iommux"));
  EXPECT_FALSE(KernelParamNameEquals("amd_iommu", "intel_iommu"));
}

IommuCmdline Interpret(const char* text) {
  return InterpretIommuCmdline(ParseKernelCmdline(text));
}

TEST(InterpretIommuCmdlineTest, IntelIommu) {
  struct Case {
    const char* text;
    Switch want;
  };
  const Case cases[] = {
      {"ro quiet", Switch::kUnset},
      {"intel_iommu=on", Switch::kOn},
      {"intel_iommu=on,sm_on", Switch::kOn},
      {"intel_iommu=sm_on,on", Switch::kOn},
      {"intel-iommu=on", Switch::kOn},
      {R"(intel_iommu="on,igfx_off")", Switch::kOn},
      {"intel_iommu=off", Switch::kOff},
      {"intel_iommu=on intel_iommu=off", Switch::kOff},
      {"intel_iommu=off intel_iommu=on", Switch::kOn},
      {"intel_iommu=igfx_off", Switch::kUnset},
      // Not the parameter: a different name that merely contains it.
      {"xintel_iommu=on", Switch::kUnset},
      {"intel_iommu", Switch::kUnset},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(Interpret(c.text).intel_iommu, c.want);
  }
  EXPECT_THAT(Interpret("intel_iommu=on,sm_on").intel_iommu_options,
              ElementsAre("on", "sm_on"));
}

TEST(InterpretIommuCmdlineTest, AmdIommu) {
  IommuCmdline off = Interpret("amd_iommu=fullflush,off");
  EXPECT_TRUE(off.amd_iommu_off);
  EXPECT_FALSE(off.amd_iommu_on_given);
  EXPECT_THAT(off.amd_iommu_options, ElementsAre("fullflush", "off"));

  IommuCmdline on = Interpret("amd_iommu=on");
  EXPECT_FALSE(on.amd_iommu_off);
  EXPECT_TRUE(on.amd_iommu_on_given);

  EXPECT_FALSE(Interpret("amd_iommu=force_isolation").amd_iommu_off);
}

TEST(InterpretIommuCmdlineTest, IommuPassthroughAndOff) {
  struct Case {
    const char* text;
    Switch pt;
    bool off;
  };
  const Case cases[] = {
      {"", Switch::kUnset, false},
      {"iommu=pt", Switch::kOn, false},
      {"iommu=nopt", Switch::kOff, false},
      {"iommu=pt iommu=nopt", Switch::kOff, false},
      {"iommu=soft,pt", Switch::kOn, false},
      {"iommu.passthrough=1", Switch::kOn, false},
      {"iommu.passthrough=on", Switch::kOn, false},
      {"iommu.passthrough=0", Switch::kOff, false},
      {"iommu.passthrough=maybe", Switch::kUnset, false},
      {"iommu=off", Switch::kUnset, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    IommuCmdline r = Interpret(c.text);
    EXPECT_EQ(r.iommu_pt, c.pt);
    EXPECT_EQ(r.iommu_off, c.off);
  }
}

TEST(InterpretIommuCmdlineTest, PciOptionsAreCommaSeparated) {
  IommuCmdline r = Interpret("pci=nocrs,realloc,assign-busses");
  EXPECT_EQ(r.pci_realloc, Switch::kOn);
  EXPECT_TRUE(r.pci_assign_busses);
  EXPECT_THAT(r.pci_options, ElementsAre("nocrs", "realloc", "assign-busses"));

  EXPECT_EQ(Interpret("pci=realloc=off").pci_realloc, Switch::kOff);
  EXPECT_EQ(Interpret("pci=realloc=on").pci_realloc, Switch::kOn);
  EXPECT_EQ(Interpret("pci=realloc pci=realloc=off").pci_realloc, Switch::kOff);
  // Options are whole words: "noassign-busses" is not assign-busses.
  IommuCmdline no = Interpret("pci=noassign-busses,norealloc");
  EXPECT_FALSE(no.pci_assign_busses);
  EXPECT_EQ(no.pci_realloc, Switch::kUnset);
}

TEST(InterpretIommuCmdlineTest, InterruptRemapping) {
  EXPECT_FALSE(Interpret("intel_iommu=on").intremap_off);
  EXPECT_TRUE(Interpret("intremap=off").intremap_off);
  EXPECT_TRUE(Interpret("intremap=nosid,off").intremap_off);
  EXPECT_TRUE(Interpret("nointremap").intremap_off);
  EXPECT_FALSE(Interpret("intremap=off intremap=on").intremap_off);
}

TEST(InterpretIommuCmdlineTest, RelevantKeepsWrittenForm) {
  IommuCmdline r = Interpret(
      "BOOT_IMAGE=/vmlinuz ro intel-iommu=on,sm_on iommu=pt quiet pci=realloc");
  EXPECT_THAT(r.relevant,
              ElementsAre("intel-iommu=on,sm_on", "iommu=pt", "pci=realloc"));
}

TEST(SwitchNameTest, Names) {
  EXPECT_STREQ(SwitchName(Switch::kUnset), "unset");
  EXPECT_STREQ(SwitchName(Switch::kOn), "on");
  EXPECT_STREQ(SwitchName(Switch::kOff), "off");
}

}  // namespace
}  // namespace sk::doctor
