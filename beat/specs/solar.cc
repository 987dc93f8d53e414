#include "beat/specs/solar.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/specs/internal/civil.h"
#include "beat/specs/interval.h"

namespace stem::beat::specs {
namespace internal {

// The terms of the sun's position that change little within a month (the
// Moon's node has an 18.6-year period).
struct SolarSlowTerms {
  double sin_obliquity;
  double cos_obliquity;
  double longitude_correction;  // aberration + nutation, degrees
};

}  // namespace internal
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDegrees = kPi / 180.0;
// Degrees the Earth turns per (solar) day relative to the stars.
constexpr double kSiderealDegreesPerDay = 360.98564736629;
// Unix seconds of J2000.0 (2000-01-01T12:00:00 UT).
constexpr double kJ2000UnixSeconds = 946728000.0;
// TT - UT, about 69 s in the 2020s; it shifts the sun by < 0.001 degree.
constexpr double kDeltaTDays = 69.0 / 86400.0;
constexpr double kSolarParallaxDegrees = 8.794 / 3600.0;
// Iteration stops when a step is below this (1 s; the model itself is good
// to well under a minute).
constexpr double kConvergedDays = 1.0 / 86400.0;
// The first estimate of an event is within a few minutes of it; one that is
// more than this before the time asked about is not refined.
constexpr double kEarlyRejectDays = 30.0 / (24 * 60);
// The equation of time stays within 16.5 minutes; with margin.
constexpr double kEquationOfTimeBoundDays = 20.0 / (24 * 60);

struct EventInfo {
  SolarEvent event;
  absl::string_view name;
  double horizon_degrees;
  int direction;  // -1 rising, 0 transit, +1 setting
};

constexpr EventInfo kEvents[] = {
    {SolarEvent::kDawnAstronomical, "dawn_astronomical", -18, -1},
    {SolarEvent::kDawnNautical, "dawn_nautical", -12, -1},
    {SolarEvent::kDawnCivil, "dawn_civil", -6, -1},
    {SolarEvent::kSunrise, "sunrise", -0.833, -1},
    {SolarEvent::kSolarNoon, "solar_noon", 0, 0},
    {SolarEvent::kSunset, "sunset", -0.833, 1},
    {SolarEvent::kDuskCivil, "dusk_civil", -6, 1},
    {SolarEvent::kDuskNautical, "dusk_nautical", -12, 1},
    {SolarEvent::kDuskAstronomical, "dusk_astronomical", -18, 1},
};

const EventInfo& InfoFor(SolarEvent event) {
  return kEvents[static_cast<int>(event)];
}

// Wraps degrees into (-180, 180].
double WrapDegrees(double degrees) {
  degrees = std::fmod(degrees, 360.0);
  if (degrees > 180.0) degrees -= 360.0;
  if (degrees <= -180.0) degrees += 360.0;
  return degrees;
}

struct SunPosition {
  double sin_declination;
  double cos_declination;
  // Greenwich hour angle of the sun, degrees.
  double greenwich_hour_angle;
};

using SlowTerms = internal::SolarSlowTerms;

SlowTerms SlowTermsAt(double days) {
  const double t = (days + kDeltaTDays) / 36525.0;
  const double mean_longitude = 280.46646 + t * 36000.76983;
  const double node = (125.04 - 1934.136 * t) * kDegrees;
  const double obliquity =
      (23.439291 - 0.0130042 * t + 0.00256 * std::cos(node)) * kDegrees;
  // Aberration (-20.5") and the two largest nutation terms (Meeus ch. 22).
  return SlowTerms{
      std::sin(obliquity),
      std::cos(obliquity),
      -0.00569 - 0.00478 * std::sin(node) -
          0.000367 * std::sin(2 * mean_longitude * kDegrees),
  };
}

// The slow terms are evaluated once per block of days, at the block's
// start, so that an event is a pure function of its day.
constexpr int64_t kSlowTermsBlockDays = 16;

int64_t BlockOf(int64_t days_since_epoch) {
  return internal::FloorDiv(days_since_epoch, kSlowTermsBlockDays);
}

SlowTerms SlowTermsForBlock(int64_t block) {
  return SlowTermsAt(static_cast<double>(block * kSlowTermsBlockDays) -
                     kJ2000UnixSeconds / 86400.0);
}

// Apparent position of the sun `days` after J2000.0 (UT), Meeus ch. 25.
SunPosition SunAt(double days, const SlowTerms& slow) {
  const double t = (days + kDeltaTDays) / 36525.0;
  const double mean_longitude = 280.46646 + t * (36000.76983 + t * 0.0003032);
  const double mean_anomaly =
      (357.52911 + t * (35999.05029 - t * 0.0001537)) * kDegrees;
  const double sin_m = std::sin(mean_anomaly);
  const double cos_m = std::cos(mean_anomaly);
  const double sin_2m = 2 * sin_m * cos_m;
  const double sin_3m = sin_m * (3 - 4 * sin_m * sin_m);
  const double center = (1.914602 - t * (0.004817 + t * 0.000014)) * sin_m +
                        (0.019993 - t * 0.000101) * sin_2m + 0.000289 * sin_3m;
  const double apparent_longitude =
      (mean_longitude + center + slow.longitude_correction) * kDegrees;
  const double sin_lambda = std::sin(apparent_longitude);
  const double cos_lambda = std::cos(apparent_longitude);
  const double sin_declination = slow.sin_obliquity * sin_lambda;
  const double right_ascension =
      std::atan2(slow.cos_obliquity * sin_lambda, cos_lambda) / kDegrees;
  const double sidereal = 280.46060837 + kSiderealDegreesPerDay * days;
  return SunPosition{
      sin_declination,
      std::sqrt(1 - sin_declination * sin_declination),
      WrapDegrees(sidereal - right_ascension),
  };
}

}  // namespace

absl::StatusOr<SolarEvent> ParseSolarEvent(absl::string_view name) {
  // Stem calls solar noon "noon".
  if (name == "noon") return SolarEvent::kSolarNoon;
  for (const EventInfo& info : kEvents) {
    if (info.name == name) return info.event;
  }
  std::string known;
  for (const EventInfo& info : kEvents) {
    absl::StrAppend(&known, known.empty() ? "" : " ", info.name);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("solar: unknown event \"", name, "\" (known: ", known, ")"));
}

absl::string_view SolarEventName(SolarEvent event) {
  return InfoFor(event).name;
}

absl::StatusOr<SolarSchedule> SolarSchedule::Create(SolarEvent event,
                                                    double latitude,
                                                    double longitude,
                                                    absl::Duration offset) {
  if (!std::isfinite(latitude) || latitude < -90 || latitude > 90) {
    return absl::InvalidArgumentError(
        absl::StrCat("solar: latitude ", latitude, " is out of range -90..90"));
  }
  if (!std::isfinite(longitude) || longitude < -180 || longitude > 180) {
    return absl::InvalidArgumentError(absl::StrCat(
        "solar: longitude ", longitude, " is out of range -180..180"));
  }
  if (offset > kMaxOffset || offset < -kMaxOffset) {
    return absl::InvalidArgumentError(
        absl::StrCat("solar: offset ", FormatScheduleDuration(offset),
                     " is longer than 24h"));
  }
  SolarSchedule schedule;
  schedule.event_ = event;
  schedule.latitude_ = latitude;
  schedule.longitude_ = longitude;
  schedule.offset_ = offset;
  schedule.sin_latitude_ = std::sin(latitude * kDegrees);
  schedule.cos_latitude_ = std::cos(latitude * kDegrees);
  // The horizon is for the sun seen from the surface (topocentric); the
  // positions above are from the Earth's centre, 8.8" (the solar parallax)
  // higher near the horizon.
  schedule.sin_horizon_ = std::sin(
      (InfoFor(event).horizon_degrees + kSolarParallaxDegrees) * kDegrees);
  return schedule;
}

absl::Time SolarSchedule::FromJ2000Days(double days) {
  // Whole seconds: the model is good to seconds, not milliseconds.
  return absl::FromUnixSeconds(
      std::llround(days * 86400.0 + kJ2000UnixSeconds));
}

double SolarSchedule::ApproximateTransit(int64_t days_since_epoch) const {
  return static_cast<double>(days_since_epoch) - kJ2000UnixSeconds / 86400.0 +
         0.5 - longitude_ / 360.0;
}

SolarSchedule::FindResult SolarSchedule::FindEvent(int64_t days_since_epoch,
                                                   double not_before,
                                                   const SlowTerms& slow,
                                                   double* event_days) const {
  const int direction = InfoFor(event_).direction;
  // Days since J2000.0 of this day's approximate transit.
  const double approximate_transit = ApproximateTransit(days_since_epoch);
  double days = approximate_transit;
  // Fixed-point iteration on the hour angle. The declination is taken at
  // the current estimate, so whether the sun reaches the horizon is only
  // decided at the converged time (near polar day it may differ from noon's).
  bool reaches_horizon = true;
  double previous_step = 1;
  for (int iteration = 0; iteration < 12; ++iteration) {
    const SunPosition sun = SunAt(days, slow);
    double target_hour_angle = 0;
    if (direction != 0) {
      const double denominator = cos_latitude_ * sun.cos_declination;
      if (denominator < 1e-12) return FindResult::kNone;  // At a pole.
      double cos_hour_angle =
          (sin_horizon_ - sin_latitude_ * sun.sin_declination) / denominator;
      reaches_horizon = cos_hour_angle >= -1 && cos_hour_angle <= 1;
      cos_hour_angle = std::clamp(cos_hour_angle, -1.0, 1.0);
      target_hour_angle = direction * std::acos(cos_hour_angle) / kDegrees;
    }
    // Unwrap the hour angle around this day's transit so that a rising stays
    // before it and a setting after it, even when they near +-180 degrees.
    const double expected_hour_angle =
        (days - approximate_transit) * kSiderealDegreesPerDay;
    const double local_hour_angle =
        expected_hour_angle + WrapDegrees(sun.greenwich_hour_angle +
                                          longitude_ - expected_hour_angle);
    const double step =
        (local_hour_angle - target_hour_angle) / kSiderealDegreesPerDay;
    days -= step;
    // The first estimate is within minutes: a day whose event is surely
    // earlier than wanted needs no refinement.
    if (iteration == 0 && days < not_before - kEarlyRejectDays) {
      return FindResult::kTooEarly;
    }
    // The steps shrink geometrically; stop when the rest of the series,
    // step * ratio / (1 - ratio), is below the tolerance.
    if (std::abs(step) < kConvergedDays) break;
    if (iteration >= 1 && std::abs(step) < 0.01) {
      const double ratio = std::abs(step / previous_step);
      if (ratio < 0.5 &&
          std::abs(step) * ratio / (1 - ratio) < kConvergedDays) {
        break;
      }
    }
    previous_step = step;
  }
  if (!reaches_horizon) return FindResult::kNone;
  *event_days = days;
  return FindResult::kFound;
}

std::optional<absl::Time> SolarSchedule::Next(absl::Time after) const {
  const double after_unix_days =
      absl::ToDoubleSeconds(after - offset_ - absl::UnixEpoch()) / 86400.0;
  const double after_j2000_days = after_unix_days - kJ2000UnixSeconds / 86400.0;
  // The event of solar day n lies between its transit and half a day before
  // (rising) or after (setting), give or take the equation of time: skip the
  // days whose event cannot be later than `after` without computing them.
  const int direction = InfoFor(event_).direction;
  const double latest_after_transit =
      (direction < 0 ? 0.0 : 0.5) + kEquationOfTimeBoundDays;
  const int64_t first_day = static_cast<int64_t>(std::floor(
      after_j2000_days - latest_after_transit - ApproximateTransit(0)));
  int64_t block = BlockOf(first_day);
  SlowTerms slow = SlowTermsForBlock(block);
  // A year and a bit covers every polar night; none then means never.
  for (int64_t day = first_day; day < first_day + 370; ++day) {
    if (BlockOf(day) != block) {
      block = BlockOf(day);
      slow = SlowTermsForBlock(block);
    }
    double event_days = 0;
    if (FindEvent(day, after_j2000_days, slow, &event_days) !=
        FindResult::kFound) {
      continue;
    }
    const absl::Time fire = FromJ2000Days(event_days) + offset_;
    if (fire > after) return fire;
  }
  return std::nullopt;
}

std::string SolarSchedule::Describe() const {
  std::string text =
      absl::StrCat(SolarEventName(event_), " at ", latitude_, ",", longitude_);
  if (offset_ != absl::ZeroDuration()) {
    absl::StrAppend(&text, " ", offset_ > absl::ZeroDuration() ? "+" : "",
                    FormatScheduleDuration(offset_));
  }
  return text;
}

}  // namespace stem::beat::specs
