#include "beat/specs/time_zone.h"

#include "gtest/gtest.h"

namespace stem::beat::specs {
namespace {

TEST(TimeZoneTest, LoadsIanaNames) {
  for (const char* name :
       {"UTC", "Europe/London", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
        "Etc/GMT-14", "America/Port-au-Prince", "EST5EDT"}) {
    absl::StatusOr<absl::TimeZone> zone = LoadTimeZone(name);
    ASSERT_TRUE(zone.ok()) << name << ": " << zone.status();
    EXPECT_EQ(zone->name(), name);
  }
}

TEST(TimeZoneTest, RefusesPathsAndSpecialForms) {
  // Regression: these loaded as files before (issue 8, defect 14).
  for (const char* name :
       {"/etc/localtime", "../../usr/share/zoneinfo/Asia/Tokyo",
        "./Europe/London", "Europe//London", "Europe/London/", "localtime",
        "libc:localtime", "Fixed/UTC+05:00", "Europe/../Asia/Tokyo", "",
        "Europe/Lon don", "Asia/Tokyo\n"}) {
    absl::StatusOr<absl::TimeZone> zone = LoadTimeZone(name);
    EXPECT_EQ(zone.status().code(), absl::StatusCode::kInvalidArgument)
        << "\"" << name << "\": " << zone.status();
  }
  EXPECT_EQ(LoadTimeZone(std::string(65, 'A')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimeZoneTest, AWellFormedNameThisHostCannotLoadIsAHostProblem) {
  absl::StatusOr<absl::TimeZone> zone = LoadTimeZone("Mars/Olympus_Mons");
  EXPECT_EQ(zone.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(zone.status().message().find("this host"), absl::string_view::npos)
      << zone.status();
}

}  // namespace
}  // namespace stem::beat::specs
