#include "beat/core/observe/metrics_text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "beat/base/utf8.h"

namespace stem::beat::core::observe {
namespace {

// Seconds as the format writes floats: shortest form that reads back.
std::string Seconds(absl::Duration duration) {
  return absl::StrFormat("%.9g", absl::ToDoubleSeconds(duration));
}

// A time as seconds since the epoch; 0 for never.
std::string Timestamp(absl::Time time) {
  if (time == absl::InfinitePast()) return "0";
  return absl::StrFormat("%.3f",
                         absl::ToDoubleSeconds(time - absl::UnixEpoch()));
}

class Writer {
 public:
  void Header(absl::string_view name, absl::string_view type,
              absl::string_view help) {
    absl::StrAppend(&out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                    type, "\n");
  }
  void Sample(absl::string_view name, absl::string_view labels,
              absl::string_view value) {
    absl::StrAppend(&out_, name, labels.empty() ? "" : "{", labels,
                    labels.empty() ? "" : "}", " ", value, "\n");
  }
  void Counter(absl::string_view name, absl::string_view help, int64_t value) {
    Header(name, "counter", help);
    Sample(name, "", absl::StrCat(value));
  }
  void Gauge(absl::string_view name, absl::string_view help,
             absl::string_view value) {
    Header(name, "gauge", help);
    Sample(name, "", value);
  }
  void Histogram(absl::string_view name, absl::string_view help,
                 const DurationHistogram& histogram) {
    Header(name, "histogram", help);
    const std::string bucket = absl::StrCat(name, "_bucket");
    int64_t cumulative = 0;
    for (int i = 0; i < DurationHistogram::kBuckets - 1; ++i) {
      cumulative += histogram.counts[i];
      Sample(
          bucket,
          absl::StrCat("le=\"", Seconds(DurationHistogram::kBounds[i]), "\""),
          absl::StrCat(cumulative));
    }
    Sample(bucket, "le=\"+Inf\"", absl::StrCat(histogram.count));
    Sample(absl::StrCat(name, "_sum"), "", Seconds(histogram.sum));
    Sample(absl::StrCat(name, "_count"), "", absl::StrCat(histogram.count));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      escaped += '?';
    } else if (c < 0x80) {
      escaped += static_cast<char>(c);
    } else {
      // UTF-8 passes (ids written behind validation's back stay apart:
      // "xé" and "xê" are two series); a byte that is not UTF-8 becomes
      // U+FFFD, so the scrape stays valid.
      const size_t length = Utf8SequenceAt(value, i);
      const bool valid = length > 0;
      if (valid) {
        escaped.append(value.data() + i, length);
        i += length - 1;
      } else {
        escaped += "\xef\xbf\xbd";
      }
    }
  }
  return escaped;
}

std::string FormatPrometheus(const MetricsInput& input) {
  const RunnerMetrics& m = input.runner;
  Writer out;
  out.Header("stem_beat_build_info", "gauge",
             "This Beat's build and lease owner (always 1).");
  out.Sample("stem_beat_build_info",
             absl::StrCat("version=\"", EscapeLabelValue(input.version),
                          "\",owner=\"", EscapeLabelValue(input.owner), "\""),
             "1");
  out.Gauge("stem_beat_start_time_seconds",
            "When the loop started, in seconds since the epoch.",
            Timestamp(m.started));
  out.Gauge("stem_beat_healthy",
            "1 when GET /healthz answers 200 (the loop runs on time, the "
            "store and the broker answer), else 0.",
            input.healthy ? "1" : "0");
  out.Counter("stem_beat_passes_total",
              "Passes of the loop over the due entries.", m.ticks);
  out.Gauge("stem_beat_last_pass_timestamp_seconds",
            "When the latest pass asked the store what is due.",
            Timestamp(m.last_pass));
  out.Gauge("stem_beat_last_store_answer_timestamp_seconds",
            "When the store last answered a pass.",
            Timestamp(m.last_store_answer));
  out.Counter("stem_beat_due_total", "Firings found due (jitter included).",
              m.due);
  out.Counter("stem_beat_dispatched_total", "Envelopes the broker accepted.",
              m.dispatched);
  out.Counter("stem_beat_republished_total",
              "Envelopes published again that the broker already held "
              "(dropped as duplicates: a retry after a fault).",
              m.duplicates);
  out.Counter("stem_beat_misfired_total",
              "Firings sent later than their entry's misfire grace.",
              m.overdue);
  out.Counter("stem_beat_skipped_total",
              "Missed firings not sent (misfire policy skip, or the "
              "fire_all cap).",
              m.skipped);
  out.Counter("stem_beat_failed_total",
              "Firings that hit a store, lock store or broker error (tried "
              "again on a later pass).",
              m.failed);
  out.Counter("stem_beat_paused_total",
              "Entries paused for an error of their own.", m.paused);
  out.Counter("stem_beat_host_errors_total",
              "Entries left alone for an error of this host (retried).",
              m.host_errors);
  out.Counter("stem_beat_conflicts_total",
              "Commits that lost the compare-and-set to another Beat.",
              m.conflicts);
  out.Counter("stem_beat_contended_total",
              "Due entries another Beat held a lease on.", m.lock_contended);
  out.Counter("stem_beat_lapsed_total",
              "Firings given back unpublished because this Beat's hold ran "
              "out first (the process was paused or starved).",
              m.lapsed);
  out.Counter("stem_beat_broker_outages_total",
              "Times publishing started to fail.", m.broker_outages);
  out.Gauge("stem_beat_due_entries",
            "Entries due at the latest pass (at most a batch).",
            absl::StrCat(m.due_now));
  out.Gauge("stem_beat_overdue_entries",
            "Of the entries due at the latest pass, those already past "
            "their misfire grace.",
            absl::StrCat(m.overdue_now));
  out.Gauge("stem_beat_held_entries",
            "Entries this Beat holds (claim or lease) while dispatching "
            "them.",
            absl::StrCat(m.in_flight));
  out.Gauge("stem_beat_store_failing", "1 while the store fails the passes.",
            m.store_error.empty() ? "0" : "1");
  out.Gauge("stem_beat_broker_failing",
            "1 while publishing fails (Beat is backing off).",
            m.broker_error.empty() ? "0" : "1");
  out.Histogram("stem_beat_dispatch_delay_seconds",
                "How late each firing reached the broker (publish time - "
                "due time).",
                m.drift);
  out.Histogram("stem_beat_store_call_seconds",
                "How long the store took to answer a pass or a commit.",
                m.store_calls);
  out.Histogram("stem_beat_publish_seconds",
                "How long the broker took to take a publish (or the store "
                "its publish-and-commit transaction).",
                m.publishes);

  out.Gauge("stem_beat_entry_series_capped",
            "1 when some entries have no per-entry series (the "
            "--metrics-entries cap was reached).",
            input.entries_capped ? "1" : "0");
  struct PerEntry {
    const char* name;
    const char* type;
    const char* help;
    std::string (*value)(const EntryCounters::Row&);
  };
  static const PerEntry kPerEntry[] = {
      {"stem_beat_entry_dispatched_total", "counter",
       "Firings of the entry published.",
       [](const EntryCounters::Row& row) {
         return absl::StrCat(row.dispatched);
       }},
      {"stem_beat_entry_misfired_total", "counter",
       "Firings of the entry sent later than its misfire grace.",
       [](const EntryCounters::Row& row) {
         return absl::StrCat(row.misfired);
       }},
      {"stem_beat_entry_failed_total", "counter",
       "Errors reported for the entry.",
       [](const EntryCounters::Row& row) { return absl::StrCat(row.failed); }},
      {"stem_beat_entry_last_dispatch_delay_seconds", "gauge",
       "How late the entry's latest firing reached the broker.",
       [](const EntryCounters::Row& row) { return Seconds(row.last_drift); }},
      {"stem_beat_entry_last_dispatch_timestamp_seconds", "gauge",
       "When the entry's latest firing reached the broker.",
       [](const EntryCounters::Row& row) {
         return Timestamp(row.last_dispatch);
       }},
  };
  for (const PerEntry& metric : kPerEntry) {
    out.Header(metric.name, metric.type, metric.help);
    for (const EntryCounters::Row& row : input.entries) {
      out.Sample(metric.name,
                 absl::StrCat("schedule_id=\"", EscapeLabelValue(row.id), "\""),
                 metric.value(row));
    }
  }
  return out.Take();
}

}  // namespace stem::beat::core::observe
