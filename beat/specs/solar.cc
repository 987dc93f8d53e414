#include "beat/specs/solar.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "beat/specs/interval.h"

namespace stem::beat::specs {
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

// Apparent position of the sun `days` after J2000.0 (UT), Meeus ch. 25.
SunPosition SunAt(double days) {
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
  const double node = (125.04 - 1934.136 * t) * kDegrees;
  // Aberration (-20.5") and the two largest nutation terms (Meeus ch. 22).
  const double nutation_longitude =
      -0.00478 * std::sin(node) -
      0.000367 * std::sin(2 * mean_longitude * kDegrees);
  const double apparent_longitude =
      (mean_longitude + center - 0.00569 + nutation_longitude) * kDegrees;
  const double obliquity =
      (23.439291 - 0.0130042 * t + 0.00256 * std::cos(node)) * kDegrees;
  const double sin_lambda = std::sin(apparent_longitude);
  const double cos_lambda = std::cos(apparent_longitude);
  const double sin_declination = std::sin(obliquity) * sin_lambda;
  const double right_ascension =
      std::atan2(std::cos(obliquity) * sin_lambda, cos_lambda) / kDegrees;
  const double sidereal = 280.46060837 + kSiderealDegreesPerDay * days;
  return SunPosition{
      sin_declination,
      std::sqrt(1 - sin_declination * sin_declination),
      WrapDegrees(sidereal - right_ascension),
  };
}

}  // namespace

absl::StatusOr<SolarEvent> ParseSolarEvent(absl::string_view name) {
  for (const EventInfo& info : kEvents) {
    if (info.name == name) return info.event;
  }
  std::string known;
  for (const EventInfo& info : kEvents) {
    absl::StrAppend(&known, known.empty() ? "" : " ", info.name);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "solar: unknown event \"", name, "\" (known: ", known, ")"));
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

std::optional<absl::Time> SolarSchedule::EventOnSolarDay(
    int64_t days_since_epoch) const {
  const int direction = InfoFor(event_).direction;
  // Days since J2000.0 of this day's approximate transit.
  const double approximate_transit = static_cast<double>(days_since_epoch) -
                                     kJ2000UnixSeconds / 86400.0 + 0.5 -
                                     longitude_ / 360.0;
  double days = approximate_transit;
  // Fixed-point iteration on the hour angle. The declination is taken at
  // the current estimate, so whether the sun reaches the horizon is only
  // decided at the converged time (near polar day it may differ from noon's).
  bool reaches_horizon = true;
  for (int iteration = 0; iteration < 12; ++iteration) {
    const SunPosition sun = SunAt(days);
    double target_hour_angle = 0;
    if (direction != 0) {
      const double denominator = cos_latitude_ * sun.cos_declination;
      if (denominator < 1e-12) return std::nullopt;  // At a pole.
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
        expected_hour_angle +
        WrapDegrees(sun.greenwich_hour_angle + longitude_ - expected_hour_angle);
    const double step =
        (local_hour_angle - target_hour_angle) / kSiderealDegreesPerDay;
    days -= step;
    if (std::abs(step) < 0.05 / 86400.0) break;
  }
  if (!reaches_horizon) return std::nullopt;
  const double unix_seconds = days * 86400.0 + kJ2000UnixSeconds;
  return absl::FromUnixMillis(static_cast<int64_t>(std::llround(unix_seconds * 1000.0)));
}

std::optional<absl::Time> SolarSchedule::Next(absl::Time after) const {
  // Every event of solar day n lies within half a day (plus the equation of
  // time) of n's transit, so start at the first day whose event could be
  // later than `after`.
  const double after_days =
      absl::ToDoubleSeconds(after - offset_ - absl::UnixEpoch()) / 86400.0;
  const int64_t first_day = static_cast<int64_t>(
      std::floor(after_days - 1.05 + longitude_ / 360.0));
  // A year and a bit covers every polar night; none then means never.
  for (int64_t day = first_day; day < first_day + 370; ++day) {
    const std::optional<absl::Time> event = EventOnSolarDay(day);
    if (event && *event + offset_ > after) return *event + offset_;
  }
  return std::nullopt;
}

std::string SolarSchedule::Describe() const {
  std::string text = absl::StrCat(SolarEventName(event_), " at ", latitude_,
                                  ",", longitude_);
  if (offset_ != absl::ZeroDuration()) {
    absl::StrAppend(&text, " ", offset_ > absl::ZeroDuration() ? "+" : "",
                    FormatScheduleDuration(offset_));
  }
  return text;
}

}  // namespace stem::beat::specs
