// What Stem's own tools (its CLI, its Beat, its workers) cannot evaluate in
// an entry we store. A Stem user's CLI reads the file store, and Stem reads
// the Redis and PostgreSQL stores; `stem schedule apply` warns about each
// such entry, and `--compat stem` refuses it. Facts from Stem's source:
// docs/user-guide.md, "Sharing a store with Stem's tools".
#ifndef STEM_BEAT_CORE_CODEC_STEM_COMPAT_H_
#define STEM_BEAT_CORE_CODEC_STEM_COMPAT_H_

#include <string>
#include <vector>

#include "beat/core/model/schedule.pb.h"

namespace stem::beat::core {

// One line per problem, each starting with the field at fault
// (`spec.cron.expression: ...`); empty when Stem reads the entry as we do.
std::vector<std::string> StemCompatibilityIssues(
    const v1::ScheduleEntry& entry);

}  // namespace stem::beat::core

#endif  // STEM_BEAT_CORE_CODEC_STEM_COMPAT_H_
