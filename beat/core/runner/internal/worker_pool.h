// A fixed set of threads that run submitted jobs in order of submission.
// The Beat runner hands its publish-and-commit groups to one, so that a
// slow broker call holds up its own group and never the scheduling loop.
#ifndef STEM_BEAT_CORE_RUNNER_INTERNAL_WORKER_POOL_H_
#define STEM_BEAT_CORE_RUNNER_INTERNAL_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stem::beat::core::internal {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  // Finishes every job already submitted, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> job);
  // Blocks until every job submitted so far has finished.
  void Wait();
  // Jobs submitted and not yet finished.
  int pending() const;

 private:
  void Work();

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable all_done_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  int unfinished_ = 0;                       // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace stem::beat::core::internal

#endif  // STEM_BEAT_CORE_RUNNER_INTERNAL_WORKER_POOL_H_
