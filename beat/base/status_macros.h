// Early returns on errors, for functions that return absl::Status or
// absl::StatusOr<T>:
//
//   STEM_RETURN_IF_ERROR(store.Remove(id, version));
//   STEM_ASSIGN_OR_RETURN(v1::ScheduleEntry entry, store.Get(id));
//
// The error is returned unchanged (a StatusOr's status). The only macros of
// the project besides the plugin ABI's; used everywhere instead of
// hand-written `if (!x.ok()) return x.status();`.
#ifndef STEM_BEAT_BASE_STATUS_MACROS_H_
#define STEM_BEAT_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STEM_RETURN_IF_ERROR(expression)                           \
  do {                                                             \
    const ::absl::Status stem_status_macros_status = (expression); \
    if (!stem_status_macros_status.ok()) {                         \
      return stem_status_macros_status;                            \
    }                                                              \
  } while (false)

#define STEM_STATUS_MACROS_CONCAT_INNER(a, b) a##b
#define STEM_STATUS_MACROS_CONCAT(a, b) STEM_STATUS_MACROS_CONCAT_INNER(a, b)

// `lhs` is a declaration (`auto x`, `T x`) or an existing variable.
#define STEM_ASSIGN_OR_RETURN(lhs, expression)                          \
  STEM_ASSIGN_OR_RETURN_IMPL(                                           \
      STEM_STATUS_MACROS_CONCAT(stem_status_macros_or_, __LINE__), lhs, \
      expression)

#define STEM_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expression) \
  auto statusor = (expression);                               \
  if (!statusor.ok()) {                                       \
    return std::move(statusor).status();                      \
  }                                                           \
  lhs = *std::move(statusor)

#endif  // STEM_BEAT_BASE_STATUS_MACROS_H_
