#include "beat/core/testing/random_entry.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"

namespace stem::beat::core::testing {

v1::ScheduleEntry RandomEntry(std::mt19937_64& random) {
  auto chance = [&random] { return random() % 2 == 0; };
  auto time = [&random](google::protobuf::Timestamp* t) {
    t->set_seconds(static_cast<int64_t>(random() % 4000000000));
    t->set_nanos(static_cast<int32_t>(random() % 1000) * 1000000);
  };
  const std::vector<int64_t> numbers = {0,
                                        1,
                                        -1,
                                        42,
                                        86400000,
                                        9000000000000000,
                                        9007199254740992,
                                        -9007199254740992};
  auto number = [&] { return numbers[random() % numbers.size()]; };
  v1::ScheduleEntry entry;
  entry.set_id(absl::StrCat("job-", random() % 1000));
  entry.set_task_name(chance() ? "reports.build" : "");
  entry.set_queue(chance() ? "reports" : "");
  switch (random() % 4) {
    case 0:
      entry.mutable_spec()->mutable_cron()->set_expression("0 2 * * *");
      break;
    case 1:
      entry.mutable_spec()->mutable_interval()->set_every_ms(30000);
      break;
    case 2:
      time(entry.mutable_spec()->mutable_clocked()->mutable_run_at());
      break;
    default:
      break;  // no spec
  }
  if (chance()) {
    (*entry.mutable_args()->mutable_fields())["day"].set_string_value("lun é");
    (*entry.mutable_args()->mutable_fields())["n"].set_number_value(2.5);
  }
  if (chance()) {
    (*entry.mutable_kwargs()->mutable_fields())["fast"].set_bool_value(true);
  }
  if (chance()) {
    auto& nested = *(*entry.mutable_meta()->mutable_fields())["owner"]
                        .mutable_struct_value()
                        ->mutable_fields();
    nested["team"].set_string_value("billing");
    nested["ids"].mutable_list_value()->add_values()->set_number_value(7);
  }
  entry.set_enabled(chance());
  if (chance()) entry.set_jitter_ms(number());
  if (chance()) time(entry.mutable_last_run_at());
  if (chance()) time(entry.mutable_next_run_at());
  entry.set_last_jitter_ms(number());
  if (chance()) entry.set_last_error("boom \"quoted\"\nline");
  if (chance()) entry.set_timezone("Europe/London");
  entry.set_total_run_count(number());
  if (chance()) time(entry.mutable_last_success_at());
  if (chance()) time(entry.mutable_last_error_at());
  entry.set_drift_ms(number());
  if (chance()) time(entry.mutable_expire_at());
  entry.set_version(number());
  if (chance()) time(entry.mutable_created_at());
  if (chance()) time(entry.mutable_updated_at());
  if (chance()) entry.set_misfire_policy(v1::MISFIRE_POLICY_FIRE_ALL);
  if (chance()) entry.set_misfire_grace_ms(number());
  if (chance()) time(entry.mutable_start_at());
  if (chance()) time(entry.mutable_end_at());
  if (chance()) time(entry.mutable_last_scheduled_at());
  if (chance()) entry.set_pause_note("paused by ops");
  return entry;
}

}  // namespace stem::beat::core::testing
