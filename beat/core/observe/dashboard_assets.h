// The dashboard's files, embedded in the binary by tools/embed.py (a
// genrule): the page and the vendored Chart.js (third_party/chartjs).
#ifndef STEM_BEAT_CORE_OBSERVE_DASHBOARD_ASSETS_H_
#define STEM_BEAT_CORE_OBSERVE_DASHBOARD_ASSETS_H_

#include <cstddef>

namespace stem::beat::core::observe::assets {

extern const char kDashboardHtml[];
extern const size_t kDashboardHtml_size;
extern const char kChartJs[];
extern const size_t kChartJs_size;

}  // namespace stem::beat::core::observe::assets

#endif  // STEM_BEAT_CORE_OBSERVE_DASHBOARD_ASSETS_H_
