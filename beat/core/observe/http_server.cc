#include "beat/core/observe/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stem::beat::core::observe {
namespace {

absl::Status BadAddress(absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--http \"", address, "\": ", why,
                   " (expected PORT, or HOST:PORT with a numeric "
                   "address, such as 127.0.0.1:9808)"));
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

// Binds a socket to `ports` (an IPv4 "HOST:PORT") and lets it go, as
// civetweb will bind it (SO_REUSEADDR): Unavailable with the reason when
// it cannot.
absl::Status ProbeListen(const std::string& ports) {
  if (ports.empty() || ports.front() == '[') return absl::OkStatus();
  const size_t colon = ports.rfind(':');
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port =
      htons(static_cast<uint16_t>(std::atoi(ports.c_str() + colon + 1)));
  if (inet_pton(AF_INET, ports.substr(0, colon).c_str(), &address.sin_addr) !=
      1) {
    return absl::OkStatus();  // ParseListenAddress has said what it takes
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::OkStatus();
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  const int bound =
      bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int error = errno;
  close(fd);
  if (bound != 0) {
    return absl::UnavailableError(absl::StrCat(
        "--http ", ports, ": cannot listen: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ParseListenAddress(absl::string_view address) {
  std::string host = "127.0.0.1";
  absl::string_view port_text = address;
  bool ipv6 = false;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find("]:");
    if (close == absl::string_view::npos) {
      return BadAddress(address, "no \"]:PORT\" after the IPv6 address");
    }
    host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
    ipv6 = true;
  } else if (const size_t colon = address.rfind(':');
             colon != absl::string_view::npos) {
    host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
  }
  if (ipv6 && mg_check_feature(8) == 0) {
    return BadAddress(address,
                      "IPv6 is not supported (Debian's civetweb is built "
                      "without it): listen on 127.0.0.1 or 0.0.0.0");
  }
  unsigned char parsed[16];
  if (inet_pton(ipv6 ? AF_INET6 : AF_INET, host.c_str(), parsed) != 1) {
    return BadAddress(address, absl::StrCat("\"", absl::CHexEscape(host),
                                            "\" is not a numeric IPv",
                                            ipv6 ? 6 : 4, " address"));
  }
  int port = -1;
  if (port_text.empty() ||
      !std::all_of(port_text.begin(), port_text.end(), absl::ascii_isdigit) ||
      port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) ||
      port > 65535) {
    return BadAddress(address, "the port is not a number from 0 to 65535");
  }
  return ipv6 ? absl::StrCat("[", host, "]:", port)
              : absl::StrCat(host, ":", port);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    absl::string_view address, std::map<std::string, HttpHandler> handlers) {
  absl::StatusOr<std::string> ports = ParseListenAddress(address);
  if (!ports.ok()) return ports.status();
  static std::once_flag initialised;
  std::call_once(initialised, [] { mg_init_library(0); });
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->handlers_ = std::move(handlers);
  // civetweb's own error for a port it cannot take is vague ("Failed to
  // setup server ports"): try it first, to say why.
  if (absl::Status free = ProbeListen(*ports); !free.ok()) return free;
  // Enough threads, and a short wait for a request, that a few idle or
  // slow connections cannot keep /healthz from answering for long.
  const char* options[] = {"listening_ports",
                           ports->c_str(),
                           "num_threads",
                           "16",
                           "request_timeout_ms",
                           "2000",
                           "enable_directory_listing",
                           "no",
                           nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // civetweb logs through this callback (else to stderr): quiet; failures
  // to start come back through mg_start2's error text.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init;
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "--http ", *ports, ": cannot listen: ",
        error_text[0] != '\0' ? error_text : "civetweb could not start"));
  }
  // Every path comes to Serve, which looks it up exactly (civetweb matches
  // prefixes, and would look for files where nothing matched).
  mg_set_request_handler(server->context_, "/", &HttpServer::Serve,
                         server.get());
  mg_server_port bound[4];
  const int count = mg_get_server_ports(server->context_, 4, bound);
  if (count > 0) server->port_ = bound[0].port;
  return server;
}

HttpServer::~HttpServer() {
  if (context_ != nullptr) mg_stop(context_);
}

int HttpServer::Serve(mg_connection* connection, void* data) {
  auto* server = static_cast<HttpServer*>(data);
  const mg_request_info* request = mg_get_request_info(connection);
  HttpResponse response;
  const bool head = std::strcmp(request->request_method, "HEAD") == 0;
  auto handler = server->handlers_.find(
      request->local_uri != nullptr ? request->local_uri : "");
  if (handler == server->handlers_.end()) {
    response.status = 404;
    response.body = "not found\n";
  } else if (!head && std::strcmp(request->request_method, "GET") != 0) {
    response.status = 405;
    response.body = "only GET and HEAD\n";
  } else {
    // On a thread of our own: civetweb's threads have small stacks, and a
    // handler reads the store through a plugin (found by AddressSanitizer:
    // a stack overflow in the file store's read).
    const std::string query =
        request->query_string != nullptr ? request->query_string : "";
    std::thread worker([&] { response = handler->second(query); });
    worker.join();
  }
  mg_printf(connection,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Connection: close\r\n\r\n",
            response.status, ReasonPhrase(response.status),
            response.content_type.c_str(), response.body.size());
  if (!head) mg_write(connection, response.body.data(), response.body.size());
  return response.status;
}

}  // namespace stem::beat::core::observe
