#include "beat/core/service/schedule_service.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "beat/base/status_macros.h"
#include "beat/core/codec/schedule_file_writer.h"
#include "beat/core/model/audit.h"
#include "beat/core/model/firing.h"
#include "beat/core/model/proto_time.h"
#include "beat/core/model/spec_conversion.h"
#include "beat/core/model/validation.h"
#include "google/protobuf/util/message_differencer.h"

namespace stem::beat::core {
namespace {

absl::Status Exhausted(absl::string_view what) {
  return absl::AbortedError(absl::StrCat(
      what, ": the store kept changing underneath (version conflict after ",
      kMaxConflictAttempts, " attempts); try again"));
}

// The fields a schedule file defines, and the pause note (the rest is run
// state and bookkeeping).
v1::ScheduleEntry DefinitionOf(v1::ScheduleEntry entry) {
  // What a reader takes an absent field for (Stem's own entries may leave
  // them out).
  if (entry.queue().empty()) entry.set_queue("default");
  if (!entry.has_enabled()) entry.set_enabled(true);
  ClearRunState(entry);
  entry.clear_next_run_at();
  entry.clear_created_at();
  entry.clear_updated_at();
  entry.clear_version();
  return entry;
}

bool SameDefinition(const v1::ScheduleEntry& a, const v1::ScheduleEntry& b) {
  return google::protobuf::util::MessageDifferencer::Equals(DefinitionOf(a),
                                                            DefinitionOf(b));
}

bool SameTiming(const v1::ScheduleEntry& a, const v1::ScheduleEntry& b) {
  using google::protobuf::util::MessageDifferencer;
  return MessageDifferencer::Equals(a.spec(), b.spec()) &&
         a.timezone() == b.timezone() &&
         MessageDifferencer::Equals(a.start_at(), b.start_at()) &&
         MessageDifferencer::Equals(a.end_at(), b.end_at()) &&
         MessageDifferencer::Equals(a.expire_at(), b.expire_at()) &&
         a.has_start_at() == b.has_start_at() &&
         a.has_end_at() == b.has_end_at() &&
         a.has_expire_at() == b.has_expire_at() && IsEnabled(a) == IsEnabled(b);
}

// An error about one entry, naming it.
absl::Status InEntry(absl::string_view id, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("entry \"", id, "\": ", status.message()));
}

absl::Status SetNextRun(v1::ScheduleEntry& entry, absl::Time now) {
  STEM_ASSIGN_OR_RETURN(std::optional<absl::Time> next,
                        NextRunAfter(entry, now));
  if (next) {
    *entry.mutable_next_run_at() = ToProtoTime(*next);
  } else {
    // Finished: disabled (every enabled entry has a next run, as Stem
    // expects), with a note saying why.
    entry.clear_next_run_at();
    MarkFinished(entry);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RecordAudit(ScheduleStore& store,
                         const std::vector<v1::AuditRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  absl::Status appended = store.AppendAudit(records);
  if (appended.code() == absl::StatusCode::kUnimplemented) {
    return absl::OkStatus();
  }
  return appended;
}

absl::StatusOr<ApplyResult> ApplyEntries(
    ScheduleStore& store, const std::vector<v1::ScheduleEntry>& entries,
    absl::Time now, bool dry_run, const ChangeAuthor* author) {
  for (int attempt = 0; attempt < kMaxConflictAttempts; ++attempt) {
    STEM_ASSIGN_OR_RETURN(std::vector<v1::ScheduleEntry> stored, store.List());
    std::map<std::string, const v1::ScheduleEntry*> existing;
    for (const v1::ScheduleEntry& entry : stored) existing[entry.id()] = &entry;

    ApplyResult result;
    std::vector<v1::ScheduleEntry> writes;
    for (const v1::ScheduleEntry& incoming : entries) {
      v1::ScheduleEntry entry = incoming;
      if (entry.queue().empty()) entry.set_queue("default");
      auto it = existing.find(entry.id());
      if (it == existing.end()) {
        ClearRunState(entry);  // Beat's to write, not a file's
        if (!entry.has_enabled()) entry.set_enabled(true);
        *entry.mutable_created_at() = ToProtoTime(now);
        *entry.mutable_updated_at() = ToProtoTime(now);
        entry.set_version(0);
        absl::Status next = SetNextRun(entry, now);
        if (!next.ok()) return InEntry(entry.id(), next);
        result.created.push_back(entry.id());
        writes.push_back(std::move(entry));
        continue;
      }
      const v1::ScheduleEntry& old = *it->second;
      // A file that does not say `enabled`, or says what the entry already
      // is without a note, keeps the entry's state and why it was paused.
      if (!entry.has_enabled() ||
          (entry.enabled() == IsEnabled(old) && entry.pause_note().empty())) {
        entry.set_enabled(IsEnabled(old));
        entry.set_pause_note(old.pause_note());
      }
      // Keep the run history.
      CopyRunState(old, entry);
      if (old.has_created_at()) *entry.mutable_created_at() = old.created_at();
      entry.set_version(old.version());
      if (SameDefinition(entry, old)) {
        result.unchanged.push_back(entry.id());
        continue;
      }
      if (!incoming.has_enabled() && IsFinished(old)) {
        // A finished entry whose definition changed (a later end, say)
        // may fire again.
        entry.set_enabled(true);
        entry.clear_pause_note();
      }
      if (SameTiming(entry, old) && old.has_next_run_at()) {
        *entry.mutable_next_run_at() = old.next_run_at();
      } else {
        absl::Status next = SetNextRun(entry, now);
        if (!next.ok()) return InEntry(entry.id(), next);
      }
      *entry.mutable_updated_at() = ToProtoTime(now);
      result.updated.push_back(entry.id());
      writes.push_back(std::move(entry));
    }
    if (dry_run || writes.empty()) return result;
    absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
        store.Upsert(writes);
    if (written.ok()) {
      if (author != nullptr) {
        std::vector<v1::AuditRecord> records;
        for (const v1::ScheduleEntry& entry : writes) {
          auto it = existing.find(entry.id());
          const v1::ScheduleEntry* old =
              it == existing.end() ? nullptr : it->second;
          records.push_back(MakeAuditRecord(
              old, entry, old == nullptr ? "created" : "updated", author->actor,
              author->note, now));
        }
        if (absl::Status recorded = RecordAudit(store, records);
            !recorded.ok()) {
          result.audit_error = std::string(recorded.message());
        }
      }
      return result;
    }
    if (written.status().code() != absl::StatusCode::kAborted) {
      return written.status();
    }
  }
  return Exhausted("apply");
}

absl::StatusOr<v1::ScheduleEntry> SetEnabled(ScheduleStore& store,
                                             absl::string_view id, bool enabled,
                                             absl::string_view note,
                                             absl::Time now,
                                             const ChangeAuthor* author,
                                             std::string* audit_error) {
  for (int attempt = 0; attempt < kMaxConflictAttempts; ++attempt) {
    STEM_ASSIGN_OR_RETURN(v1::ScheduleEntry entry, store.Get(id));
    const v1::ScheduleEntry before = entry;
    const bool was_enabled = IsEnabled(entry);
    entry.set_enabled(enabled);
    entry.set_pause_note(enabled ? "" : std::string(note));
    if (enabled && !was_enabled) {
      absl::Status next = SetNextRun(entry, now);
      if (!next.ok()) return InEntry(id, next);
      if (!IsEnabled(entry)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "\"", id, "\" has finished: its spec has no fire time after ",
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone()),
            " (apply a new spec to give it one)"));
      }
    }
    *entry.mutable_updated_at() = ToProtoTime(now);
    absl::StatusOr<std::vector<v1::ScheduleEntry>> written =
        store.Upsert({entry});
    if (written.ok()) {
      // Enabling what is enabled changes nothing worth a record.
      v1::AuditRecord record =
          MakeAuditRecord(&before, entry, enabled ? "enabled" : "disabled",
                          author != nullptr ? author->actor : "", note, now);
      if (author != nullptr && record.changes_size() > 0) {
        absl::Status recorded = RecordAudit(store, {record});
        if (!recorded.ok() && audit_error != nullptr) {
          *audit_error = std::string(recorded.message());
        }
      }
      return (*written)[0];
    }
    if (written.status().code() != absl::StatusCode::kAborted) {
      return written.status();
    }
  }
  return Exhausted(enabled ? "enable" : "disable");
}

ExportResult ExportEntries(const std::vector<v1::ScheduleEntry>& entries,
                           ScheduleFileFormat format) {
  ExportResult result;
  std::vector<v1::ScheduleEntry> definitions;
  definitions.reserve(entries.size());
  for (const v1::ScheduleEntry& entry : entries) {
    // An entry apply would refuse (written behind its back) would make the
    // whole file fail to apply: left out, and said why.
    if (absl::Status valid = ValidateEntry(entry); !valid.ok()) {
      result.left_out.push_back(absl::StrCat(
          "entry \"", entry.id(), "\" is not exported: ", valid.message(),
          " (apply would refuse it)"));
      continue;
    }
    v1::ScheduleEntry definition = DefinitionOf(entry);
    definition.clear_pause_note();  // not in the apply format
    // A finished entry says nothing about `enabled`, so that applying a
    // changed definition (a later run time) brings it back.
    if (IsFinished(entry)) definition.clear_enabled();
    definitions.push_back(std::move(definition));
  }
  result.text = FormatScheduleFile(definitions, format);
  return result;
}

}  // namespace stem::beat::core
