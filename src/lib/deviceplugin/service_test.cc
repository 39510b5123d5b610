// DevicePluginService called directly (no socket): what a request from
// outside can make it say and log.
#include "lib/deviceplugin/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/deviceplugin/preferred.h"
#include "tests/testing/log_capture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace sk::deviceplugin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr size_t kHuge = 3 * 1024 * 1024;

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() : svc_(MakePool(), sysfs::Sysfs(dir_.path()), Options()) {}

  static Pool MakePool() {
    Pool p;
    p.config.resource_prefix = "intel.com";
    p.config.resource_name = "vfio";
    for (const char* id : {"0000:01:10.0", "0000:01:10.1"}) {
      PoolDevice d;
      d.id = id;
      p.devices.push_back(d);
    }
    return p;
  }
  ServiceOptions Options() const {
    ServiceOptions o;
    o.devinfo_dir = dir_ / "devinfo";
    o.cdi_dir = dir_ / "cdi";
    return o;
  }

  sk::testing::TempDir dir_;
  DevicePluginService svc_;
};

// A 3 MB device ID once grew the log by 754 MB in 10 s: every message and
// log line quotes only a bounded prefix of it.
TEST_F(ServiceTest, HugeDeviceIdIsRejectedWithABoundedMessage) {
  const std::string huge(kHuge, 'x');
  const std::string want =
      "resource intel.com/vfio: container_requests[0].devices_ids[0]: "
      "device ID \"" +
      std::string(64, 'x') +
      "\"...(3145728 bytes) is longer than 256 bytes; not one of ours";
  sk::testing::LogCapture logs;

  v1beta1::AllocateRequest areq;
  areq.add_container_requests()->add_devices_ids(huge);
  v1beta1::AllocateResponse aresp;
  grpc::Status s = svc_.Allocate(nullptr, &areq, &aresp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), want);

  v1beta1::PreferredAllocationRequest preq;
  preq.add_container_requests()->add_available_deviceids(huge);
  v1beta1::PreferredAllocationResponse presp;
  s = svc_.GetPreferredAllocation(nullptr, &preq, &presp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(s.error_message().size(), 300u);
  EXPECT_THAT(s.error_message(),
              HasSubstr("container_requests[0].available_deviceIDs[0]: "
                        "device ID \"xxxx"));

  v1beta1::PreStartContainerRequest sreq;
  sreq.add_devices_ids(huge);
  v1beta1::PreStartContainerResponse sresp;
  s = svc_.PreStartContainer(nullptr, &sreq, &sresp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(s.error_message().size(), 300u);

  EXPECT_LT(logs.Text().size(), 1000u);
  EXPECT_THAT(logs.Text(), HasSubstr("...(3145728 bytes)"));
}

TEST_F(ServiceTest, UnknownDeviceIdIsQuotedEscapedAndBounded) {
  const std::string id = "0000:99:00.0\n" + std::string(200, 'y');
  v1beta1::AllocateRequest req;
  req.add_container_requests()->add_devices_ids(id);
  v1beta1::AllocateResponse resp;
  sk::testing::LogCapture logs;
  grpc::Status s = svc_.Allocate(nullptr, &req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: unknown device ID \"0000:99:00.0\\n" +
                std::string(51, 'y') + "\"...(213 bytes)");
  EXPECT_THAT(logs.Text(), Not(HasSubstr("\n" + std::string(52, 'y'))));
}

TEST_F(ServiceTest, MoreIdsThanThePoolHasOrRepeatedIdsAreRejected) {
  v1beta1::AllocateRequest req;
  auto* c = req.add_container_requests();
  for (int i = 0; i < 3; ++i) c->add_devices_ids("0000:01:10.0");
  v1beta1::AllocateResponse resp;
  grpc::Status s = svc_.Allocate(nullptr, &req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: the request names 3 device IDs; the "
            "pool has 2");

  v1beta1::AllocateRequest twice;
  twice.add_container_requests()->add_devices_ids("0000:01:10.0");
  twice.add_container_requests()->add_devices_ids("0000:01:10.0");
  s = svc_.Allocate(nullptr, &twice, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: container_requests[1].devices_ids[0]: "
            "device ID \"0000:01:10.0\" requested twice");
}

// GetPreferredAllocation and PreStartContainer list at most as many
// containers and IDs as the pool has devices (2 here); one more is refused
// naming the field, before any ID is looked at.
TEST_F(ServiceTest, PreferredAllocationAndPreStartBoundTheIdCount) {
  v1beta1::PreferredAllocationRequest pref;
  auto* c = pref.add_container_requests();
  for (const char* id : {"0000:01:10.0", "0000:01:10.1"}) {
    c->add_available_deviceids(id);
  }
  c->add_must_include_deviceids("0000:01:10.0");
  c->set_allocation_size(1);
  v1beta1::PreferredAllocationResponse pref_resp;
  EXPECT_TRUE(svc_.GetPreferredAllocation(nullptr, &pref, &pref_resp).ok());

  c->add_available_deviceids("0000:01:10.2");
  grpc::Status s = svc_.GetPreferredAllocation(nullptr, &pref, &pref_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: container_requests[0]."
            "available_deviceIDs: 3 entries; the pool has 2 devices");

  v1beta1::PreferredAllocationRequest must;
  for (int i = 0; i < 3; ++i) {
    must.add_container_requests()->add_must_include_deviceids("x");
  }
  s = svc_.GetPreferredAllocation(nullptr, &must, &pref_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: container_requests: 3 entries; the "
            "pool has 2 devices");
  must.mutable_container_requests()->RemoveLast();
  for (int i = 0; i < 2; ++i) {
    must.mutable_container_requests(1)->add_must_include_deviceids("y");
  }
  s = svc_.GetPreferredAllocation(nullptr, &must, &pref_resp);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: container_requests[1]."
            "must_include_deviceIDs: 3 entries; the pool has 2 devices");

  v1beta1::PreStartContainerRequest pre;
  pre.add_devices_ids("0000:01:10.0");
  pre.add_devices_ids("0000:01:10.1");
  v1beta1::PreStartContainerResponse pre_resp;
  EXPECT_TRUE(svc_.PreStartContainer(nullptr, &pre, &pre_resp).ok());
  // A million IDs (each short, so the length check alone passed them).
  for (int i = 0; i < 1000000; ++i) pre.add_devices_ids("z");
  s = svc_.PreStartContainer(nullptr, &pre, &pre_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "resource intel.com/vfio: devices_ids: 1000002 entries; the pool "
            "has 2 devices");
}

// UpdatePool replaces the list in place: health shows in DeviceList, a
// device no longer in the pool is unknown to Allocate, and a snapshot taken
// before the update is not changed by it.
TEST_F(ServiceTest, UpdatePoolChangesTheListAndWhatAllocateKnows) {
  std::shared_ptr<const Pool> before = svc_.pool();
  Pool p = MakePool();
  p.devices[0].healthy = false;
  p.devices.pop_back();  // 0000:01:10.1 leaves
  svc_.UpdatePool(p);

  v1beta1::ListAndWatchResponse list = svc_.DeviceList();
  ASSERT_EQ(list.devices_size(), 1);
  EXPECT_EQ(list.devices(0).id(), "0000:01:10.0");
  EXPECT_EQ(list.devices(0).health(), "Unhealthy");
  EXPECT_EQ(before->devices.size(), 2u);

  v1beta1::AllocateRequest areq;
  areq.add_container_requests()->add_devices_ids("0000:01:10.1");
  v1beta1::AllocateResponse aresp;
  grpc::Status s = svc_.Allocate(nullptr, &areq, &aresp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("0000:01:10.1"));
}

TEST_F(ServiceTest, PreferredAllocationAnswersPerContainerAndBoundsTheIds) {
  v1beta1::DevicePluginOptions opts;
  ASSERT_TRUE(svc_.GetDevicePluginOptions(nullptr, nullptr, &opts).ok());
  EXPECT_TRUE(opts.get_preferred_allocation_available());

  v1beta1::PreferredAllocationRequest req;
  auto* c = req.add_container_requests();
  c->add_available_deviceids("0000:01:10.1");
  c->add_available_deviceids("0000:01:10.0");
  c->set_allocation_size(1);
  v1beta1::PreferredAllocationResponse resp;
  ASSERT_TRUE(svc_.GetPreferredAllocation(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.container_responses_size(), 1);
  EXPECT_THAT(resp.container_responses(0).deviceids(),
              ::testing::ElementsAre("0000:01:10.0"));

  c->set_allocation_size(3);
  grpc::Status s = svc_.GetPreferredAllocation(nullptr, &req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("resource intel.com/vfio: container_requests[0]."
                        "allocation_size 3: must be between"));

  v1beta1::PreferredAllocationRequest big;
  auto* b = big.add_container_requests();
  for (size_t i = 0; i <= kMaxPreferredIds; ++i) {
    b->add_available_deviceids(std::to_string(i));
  }
  b->set_allocation_size(1);
  s = svc_.GetPreferredAllocation(nullptr, &big, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("container_requests[0].available_deviceIDs: 16385 "
                        "entries; the pool has"));
}

}  // namespace
}  // namespace sk::deviceplugin
