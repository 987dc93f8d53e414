#include "beat/brokers/log/log_broker.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "beat/core/codec/envelope_json.h"
#include "beat/core/codec/json.h"

namespace stem::beat::brokers {
namespace {

// Writes `bytes` to `fd`; how many went out, and the error if not all did.
size_t WriteOut(int fd, absl::string_view bytes, absl::Status* error) {
  size_t written = 0;
  int stalls = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n > 0) {
      written += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && stalls++ < 10) {
      pollfd out = {fd, POLLOUT, 0};
      (void)poll(&out, 1, 1000);  // a non-blocking pipe that is full
      continue;
    }
    *error = absl::UnavailableError(absl::StrCat(
        "cannot write envelopes to the log (", fd == 1 ? "stdout" : "stderr",
        "): ", n < 0 ? std::strerror(errno) : "nothing written"));
    break;
  }
  return written;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogBroker>> LogBroker::Open(
    absl::string_view url) {
  absl::string_view target = url;
  if (!absl::ConsumePrefix(&target, "log://") &&
      !absl::ConsumePrefix(&target, "log:")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected log:// or log://stderr, got \"", url, "\""));
  }
  if (target.empty() || target == "stdout") {
    return std::unique_ptr<LogBroker>(new LogBroker(STDOUT_FILENO));
  }
  if (target == "stderr")
    return std::unique_ptr<LogBroker>(new LogBroker(STDERR_FILENO));
  return absl::InvalidArgumentError(
      absl::StrCat("log:// writes to stdout or stderr, not \"", target, "\""));
}

void LogBroker::Remember(v1::TaskEnvelope envelope) {
  ids_.insert(envelope.id());
  id_order_.push_back(envelope.id());
  if (id_order_.size() > kRememberedIds) {
    ids_.erase(id_order_.front());
    id_order_.pop_front();
  }
  printed_.push_back(std::move(envelope));
  if (printed_.size() > kListed) printed_.pop_front();
}

absl::StatusOr<core::PublishResult> LogBroker::Publish(
    std::vector<v1::TaskEnvelope> envelopes) {
  std::lock_guard<std::mutex> lock(mutex_);
  core::PublishResult result;
  // After a write that stopped mid-line, start on a line of our own: the
  // fragment stays alone on its (broken) line, and no envelope is glued to
  // it.
  std::string lines = partial_line_ ? "\n" : "";
  // Where each new envelope's line ends in `lines`.
  std::vector<std::pair<size_t, size_t>> ends;  // (end offset, envelope)
  absl::flat_hash_set<absl::string_view> in_batch;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const v1::TaskEnvelope& envelope = envelopes[i];
    if (ids_.contains(envelope.id()) ||
        !in_batch.insert(envelope.id()).second) {
      ++result.duplicates;
      continue;
    }
    absl::StrAppend(&lines, core::EnvelopeStemJsonText(envelope), "\n");
    ends.emplace_back(lines.size(), i);
  }
  if (ends.empty()) return result;  // nothing new (a newline can wait)
  absl::Status error;
  const size_t written = WriteOut(fd_, lines, &error);
  if (written > 0) partial_line_ = lines[written - 1] != '\n';
  // Only envelopes whose whole line went out are published (and so
  // dropped as duplicates later); the Beat retries the others.
  for (const auto& [end, index] : ends) {
    if (end > written) break;
    Remember(std::move(envelopes[index]));
    ++result.published;
  }
  if (!error.ok()) return error;
  return result;
}

absl::StatusOr<std::vector<v1::TaskEnvelope>> LogBroker::List() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::vector<v1::TaskEnvelope>(printed_.begin(), printed_.end());
}

absl::StatusOr<bool> LogBroker::Contains(absl::string_view envelope_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  return ids_.contains(envelope_id);
}

}  // namespace stem::beat::brokers
