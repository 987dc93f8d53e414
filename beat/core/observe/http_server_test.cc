#include "beat/core/observe/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace stem::beat::core::observe {
namespace {

// Sends `request` to 127.0.0.1:`port` and returns all it answers.
std::string Exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    close(fd);
    return "connect failed";
  }
  (void)!write(fd, request.data(), request.size());
  std::string answer;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) answer.append(buffer, n);
  close(fd);
  return answer;
}

std::string Get(int port, const std::string& path,
                const std::string& method = "GET") {
  return Exchange(port, absl::StrCat(method, " ", path,
                                     " HTTP/1.1\r\nHost: x\r\n"
                                     "Connection: close\r\n\r\n"));
}

TEST(ParseListenAddressTest, TakesPortHostAndIpv6) {
  EXPECT_EQ(*ParseListenAddress("9808"), "127.0.0.1:9808");
  EXPECT_EQ(*ParseListenAddress("0.0.0.0:80"), "0.0.0.0:80");
}

TEST(ParseListenAddressTest, SaysWhenIpv6IsNotThere) {
  absl::StatusOr<std::string> parsed = ParseListenAddress("[::1]:0");
  if (parsed.ok()) {
    EXPECT_EQ(*parsed, "[::1]:0");  // a civetweb built with IPv6
  } else {
    EXPECT_TRUE(
        absl::StrContains(parsed.status().message(), "IPv6 is not supported"))
        << parsed.status();
  }
}

TEST(ParseListenAddressTest, RefusesWhatIsNotANumericAddressAndPort) {
  for (const char* bad : {"", "localhost:9808", "127.0.0.1:", "127.0.0.1:x",
                          "127.0.0.1:65536", "127.0.0.1:-1", "[::1]9808",
                          "::1:9808", "1.2.3:80", "127.0.0.1:99999999999"}) {
    absl::StatusOr<std::string> parsed = ParseListenAddress(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_TRUE(absl::StartsWith(parsed.status().message(),
                                 absl::StrCat("--http \"", bad, "\"")))
        << parsed.status();
  }
}

TEST(HttpServerTest, ServesItsHandlersAndNothingElse) {
  std::atomic<int> calls{0};
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      "127.0.0.1:0", {{"/hello",
                       [&](absl::string_view query) {
                         ++calls;
                         HttpResponse response;
                         response.body = absl::StrCat("hi ", query, "\n");
                         return response;
                       }},
                      {"/down", [](absl::string_view) {
                         HttpResponse response;
                         response.status = 503;
                         response.body = "no\n";
                         return response;
                       }}});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  std::string answer = Get(port, "/hello?x=1");
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(absl::StrContains(answer, "Content-Length: 7\r\n")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "\r\n\r\nhi x=1\n")) << answer;

  answer = Get(port, "/down");
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 503 ")) << answer;

  answer = Get(port, "/hello", "HEAD");
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(absl::EndsWith(answer, "\r\n\r\n")) << answer;

  answer = Get(port, "/hello", "POST");
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 405 ")) << answer;

  for (const char* other :
       {"/", "/etc/passwd", "/../../etc/passwd", "/hello/x", "/metrics"}) {
    answer = Get(port, other);
    EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 404 ")) << other << answer;
  }
  EXPECT_EQ(calls.load(), 2);
}

TEST(HttpServerTest, APortInUseIsAClearError) {
  absl::StatusOr<std::unique_ptr<HttpServer>> first =
      HttpServer::Start("127.0.0.1:0", {});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = absl::StrCat("127.0.0.1:", (*first)->port());
  absl::StatusOr<std::unique_ptr<HttpServer>> second =
      HttpServer::Start(taken, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            absl::StrCat("--http ", taken,
                         ": cannot listen: Address already in use"));
}

}  // namespace
}  // namespace stem::beat::core::observe
