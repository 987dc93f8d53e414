// Clocked schedules: one run at a fixed instant; finished after it.
#ifndef STEM_BEAT_SPECS_CLOCKED_H_
#define STEM_BEAT_SPECS_CLOCKED_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/specs/schedule.h"

namespace stem::beat::specs {

class ClockedSchedule final : public Schedule {
 public:
  explicit ClockedSchedule(absl::Time run_at) : run_at_(run_at) {}

  // Parses an RFC 3339 time such as `2026-12-01T09:00:00Z`.
  static absl::StatusOr<ClockedSchedule> Parse(absl::string_view run_at);

  std::optional<absl::Time> Next(absl::Time after) const override {
    if (run_at_ > after) return run_at_;
    return std::nullopt;
  }
  std::string Describe() const override;

  absl::Time run_at() const { return run_at_; }

 private:
  absl::Time run_at_;
};

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_CLOCKED_H_
