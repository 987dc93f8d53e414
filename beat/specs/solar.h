// Solar schedules: fire at a sun event (sunrise, dusk, ...) at a place.
//
// The events are Celery's: dawn and dusk (astronomical, nautical, civil:
// sun centre 18, 12 and 6 degrees below the horizon), sunrise and sunset
// (centre 0.833 degrees below: refraction plus the sun's radius) and solar
// noon (transit). An optional offset moves every fire (`-15m` = fifteen
// minutes before). Days on which the event does not happen (polar day or
// night) are skipped. Sun positions follow Meeus, "Astronomical Algorithms",
// ch. 25, good to well within a minute of a full ephemeris between +-65
// degrees of latitude; see docs/semantics.md.
#ifndef STEM_BEAT_SPECS_SOLAR_H_
#define STEM_BEAT_SPECS_SOLAR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/specs/schedule.h"

namespace stem::beat::specs {
namespace internal {
struct SolarSlowTerms;
}  // namespace internal

enum class SolarEvent {
  kDawnAstronomical,
  kDawnNautical,
  kDawnCivil,
  kSunrise,
  kSolarNoon,
  kSunset,
  kDuskCivil,
  kDuskNautical,
  kDuskAstronomical,
};

// `sunrise`, `dusk_civil`, ... (Celery's names). Errors list the names.
absl::StatusOr<SolarEvent> ParseSolarEvent(absl::string_view name);
absl::string_view SolarEventName(SolarEvent event);

class SolarSchedule final : public Schedule {
 public:
  static constexpr absl::Duration kMaxOffset = absl::Hours(24);

  static absl::StatusOr<SolarSchedule> Create(
      SolarEvent event, double latitude, double longitude,
      absl::Duration offset = absl::ZeroDuration());

  std::optional<absl::Time> Next(absl::Time after) const override;
  std::string Describe() const override;

  SolarEvent event() const { return event_; }
  double latitude() const { return latitude_; }
  double longitude() const { return longitude_; }
  absl::Duration offset() const { return offset_; }

 private:
  SolarSchedule() = default;

  enum class FindResult { kFound, kNone, kTooEarly };
  // Finds the event of solar day `days_since_epoch` in days since J2000.0,
  // with the slow terms of that day's block; kTooEarly when it is surely
  // before `not_before` (same unit).
  FindResult FindEvent(int64_t days_since_epoch, double not_before,
                       const internal::SolarSlowTerms& slow,
                       double* event_days) const;
  // Days since J2000.0 of the approximate transit of a solar day.
  double ApproximateTransit(int64_t days_since_epoch) const;
  static absl::Time FromJ2000Days(double days);

  SolarEvent event_ = SolarEvent::kSunrise;
  double latitude_ = 0;
  double longitude_ = 0;
  absl::Duration offset_;
  // Precomputed from the above.
  double sin_latitude_ = 0;
  double cos_latitude_ = 1;
  double sin_horizon_ = 0;
};

}  // namespace stem::beat::specs

#endif  // STEM_BEAT_SPECS_SOLAR_H_
