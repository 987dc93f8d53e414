// A plugin built with the SDK that refuses URLs not ending in "ok", serves
// the alias "picky+tls", and throws from Get: for registry_test.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beat/core/plugin/sdk.h"

namespace {

class PickyStore final : public stem::beat::core::ScheduleStore {
 public:
  static absl::StatusOr<std::unique_ptr<PickyStore>> Open(
      absl::string_view url) {
    if (absl::StrContains(url, "unreachable")) {
      return absl::UnavailableError("cannot reach the backend");
    }
    if (!absl::EndsWith(url, "ok")) {
      return absl::InvalidArgumentError(absl::StrCat("URL must end in ok"));
    }
    return std::make_unique<PickyStore>();
  }
  absl::StatusOr<stem::beat::v1::ScheduleEntry> Get(
      absl::string_view) override {
    throw std::runtime_error("boom");
  }
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> List() override {
    return std::vector<stem::beat::v1::ScheduleEntry>{};
  }
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> Upsert(
      const std::vector<stem::beat::v1::ScheduleEntry>& entries) override {
    return entries;
  }
  absl::Status Remove(absl::string_view, int64_t) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<stem::beat::v1::ScheduleEntry>> Due(absl::Time,
                                                                 int) override {
    return std::vector<stem::beat::v1::ScheduleEntry>{};
  }
};

}  // namespace

STEM_BEAT_STORE_PLUGIN(PickyStore, "picky", "1.2.3", "picky", "picky+tls")
