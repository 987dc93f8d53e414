// The file:// broker: envelopes appended as JSON lines (Stem's Envelope
// JSON), each batch fsync'd (`file:///abs/tasks.jsonl`, `file:rel.jsonl`).
//
// Several Beats may share the file: an flock on `<path>.lock` serialises
// appends, and before appending a broker reads what others appended since,
// so an envelope id already in the file is never appended again. A partial
// last line (a crash mid-append, never acknowledged) is cut off under the
// lock before the next append. The file is created 0600 (envelopes carry
// args) and never followed through a symbolic link.
#ifndef STEM_BEAT_BROKERS_FILE_FILE_BROKER_H_
#define STEM_BEAT_BROKERS_FILE_FILE_BROKER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "beat/core/model/store.h"

namespace stem::beat::brokers {

class FileBroker final : public core::Broker {
 public:
  static absl::StatusOr<std::unique_ptr<FileBroker>> Open(
      absl::string_view url);

  absl::StatusOr<core::PublishResult> Publish(
      std::vector<v1::TaskEnvelope> envelopes) override;
  absl::StatusOr<std::vector<v1::TaskEnvelope>> List() override;
  absl::StatusOr<bool> Contains(absl::string_view envelope_id) override;

 private:
  explicit FileBroker(std::string path) : path_(std::move(path)) {}
  // Reads lines appended since `scanned_`, adding their ids (and cuts a
  // torn last line off).
  absl::Status CatchUp(int fd);
  // Runs body(fd) on the file opened for appending, under this broker's
  // mutex and the file's lock, once caught up with what others appended.
  absl::Status CaughtUp(const std::function<absl::Status(int)>& body);

  std::string path_;
  // Guards what follows between this process's threads (the flock on
  // `<path>.lock` orders them against other processes).
  std::mutex mutex_;
  int64_t scanned_ = 0;  // bytes of whole lines read into ids_
  absl::flat_hash_set<std::string> ids_;
};

}  // namespace stem::beat::brokers

#endif  // STEM_BEAT_BROKERS_FILE_FILE_BROKER_H_
