// A small read-only HTTP server (civetweb) for Beat's endpoint: GET and
// HEAD handlers by exact path, run on civetweb's own threads; anything else
// is 404 or 405. No files are served from disk.
#ifndef STEM_BEAT_CORE_OBSERVE_HTTP_SERVER_H_
#define STEM_BEAT_CORE_OBSERVE_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct mg_context;
struct mg_connection;

namespace stem::beat::core::observe {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on a server thread, with the query string (after '?', or empty).
using HttpHandler = std::function<HttpResponse(absl::string_view query)>;

// "HOST:PORT" with a numeric address, or "PORT" alone (then on
// 127.0.0.1); port 0 takes any free one. "[IPv6]:PORT" only when civetweb
// was built with IPv6 (Debian's is not: then a clear error). Returns what
// civetweb's listening_ports option wants, or InvalidArgument naming the flag.
absl::StatusOr<std::string> ParseListenAddress(absl::string_view address);

class HttpServer {
 public:
  // Listens on `address` (as ParseListenAddress takes it) and serves
  // `handlers` (path -> handler) until destroyed.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      absl::string_view address, std::map<std::string, HttpHandler> handlers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port it listens on (the one chosen, for port 0).
  int port() const { return port_; }

 private:
  HttpServer() = default;
  static int Serve(::mg_connection* connection, void* server);

  mg_context* context_ = nullptr;
  std::map<std::string, HttpHandler> handlers_;
  int port_ = 0;
};

}  // namespace stem::beat::core::observe

#endif  // STEM_BEAT_CORE_OBSERVE_HTTP_SERVER_H_
