// The clock for test drivers that are not C++ (shell, Python): what `stem`
// and every fixture read, the system clock moved by STEM_CLOCK_OFFSET, so
// that a script's "in two seconds" is Beat's too. Never `date`.
//
//   test_clock now [SHIFT] [FORMAT]  the clock's time, moved by SHIFT (a
//                                    signed duration: +2s, -10m, 0);
//                                    FORMAT: iso (2040-02-29T23:59:30Z,
//                                    the default), iso_ms (…30.000Z),
//                                    unix, unix_ms, unix_ns
//   test_clock offset                STEM_CLOCK_OFFSET in whole seconds,
//                                    signed (+410000000; 0 when unset): what
//                                    libfaketime's FAKETIME takes
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "beat/base/clock.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: test_clock now [SHIFT] [iso|iso_ms|unix|unix_ms|"
               "unix_ns] | test_clock offset\n");
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  const stem::beat::Clock& clock = stem::beat::Clock::System();
  if (argc == 2 && std::strcmp(argv[1], "offset") == 0) {
    const int64_t seconds =
        absl::ToInt64Seconds(stem::beat::Clock::SystemOffset());
    std::printf("%s\n", absl::StrCat(seconds > 0 ? "+" : "", seconds).c_str());
    return 0;
  }
  if (argc < 2 || argc > 4 || std::strcmp(argv[1], "now") != 0) {
    return Usage();
  }
  absl::Duration shift;
  if (argc > 2) {
    std::string text = argv[2];
    if (!text.empty() && text[0] == '+') text.erase(0, 1);
    if (!absl::ParseDuration(text, &shift)) {
      std::fprintf(stderr, "test_clock: bad shift \"%s\" (such as +2s)\n",
                   argv[2]);
      return 64;
    }
  }
  const absl::Time at = clock.Now() + shift;
  const std::string format = argc > 3 ? argv[3] : "iso";
  std::string out;
  if (format == "iso") {
    out = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", at, absl::UTCTimeZone());
  } else if (format == "iso_ms") {
    out = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone());
  } else if (format == "unix") {
    out = absl::StrCat(absl::ToUnixSeconds(at));
  } else if (format == "unix_ms") {
    out = absl::StrCat(absl::ToUnixMillis(at));
  } else if (format == "unix_ns") {
    out = absl::StrCat(absl::ToUnixNanos(at));
  } else {
    return Usage();
  }
  std::printf("%s\n", out.c_str());
  return 0;
}
