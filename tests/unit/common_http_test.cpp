// common/http: the request head's end, the request line, headers, query values and listen
// addresses, with hostile input as a table (what the web node's server parses).
#include <doctest/doctest.h>

#include <string>

#include "tradebus/common/http.hpp"

using namespace tradebus::common;

TEST_CASE("common http: head end, request line, headers and query values") {
    CHECK(http::head_end("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody") == 27);
    CHECK(http::head_end("GET / HTTP/1.0\n\n") == 16);
    CHECK(http::head_end("GET / HTTP/1.1\r\nHost: x\r\n") == std::string::npos);
    std::string error;
    const std::string head =
        "GET /topics?q=md.tick&x=1 HTTP/1.1\r\nHost: a\r\nX-Token:  t0k \r\n\r\n";
    const auto r = http::parse_request(head, error);
    REQUIRE(r);
    CHECK(r->method == "GET");
    CHECK(r->path == "/topics");
    CHECK(r->query == "q=md.tick&x=1");
    CHECK(http::header(*r, "x-token") == "t0k");
    CHECK(http::header(*r, "HOST") == "a");
    CHECK_FALSE(http::header(*r, "Cookie"));
    CHECK(http::query_value("q=a%20b+c&q2=z", "q", 100) == "a b c");
    CHECK(http::query_value("q=abcdef", "q", 3) == "abc");
    CHECK(http::query_value("x=1", "q", 3).empty());
    CHECK(http::query_value("q=%zz%4", "q", 10) == "%zz%4");
    CHECK(http::response_head(200, "OK", "text/plain", 5) ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: "
          "close\r\n\r\n");
}

TEST_CASE("common http: malformed request lines are refused with what was expected (table)") {
    const char* rows[] = {
        "",
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / FTP/1.0\r\n\r\n",
        " / HTTP/1.1\r\n\r\n",
        "GET x HTTP/1.1\r\n\r\n",
        "GET /a\x01 HTTP/1.1\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
    };
    for (const char* row : rows) {
        CAPTURE(std::string(row));
        std::string error;
        CHECK_FALSE(http::parse_request(row, error));
        CHECK(error.starts_with("expected "));
    }
}

TEST_CASE("common http: listen addresses (table)") {
    CHECK_FALSE(http::listen_endpoint_error("tcp://127.0.0.1:8470"));
    CHECK_FALSE(http::listen_endpoint_error("tcp://*:8470"));
    CHECK_FALSE(http::listen_endpoint_error("tcp://[::1]:8470"));
    for (const char* bad : {"127.0.0.1:8470", "tcp://127.0.0.1", "tcp://:80", "tcp://h:0",
                            "tcp://h:65536", "tcp://h:8x", "ipc:///tmp/x", "tcp://h:123456"}) {
        CAPTURE(std::string(bad));
        CHECK(http::listen_endpoint_error(bad));
    }
    std::string error;
    CHECK(http::listen_tcp("tcp://no-such-host.invalid:8470", error) < 0);
    CHECK_FALSE(error.empty());
}

TEST_CASE("common http: a body's Content-Length, and what is refused (table)") {
    const auto length = [](std::string_view headers, std::string& error) {
        const http::request r{"POST", "/", "", headers};
        return http::content_length(r, error);
    };
    std::string error;
    CHECK(length("", error) == 0);
    CHECK(length("Content-Length: 42\r\n", error) == 42);
    CHECK(length("content-length:7\n", error) == 7);
    CHECK(length("Content-Length: 999999999999999\r\n", error) == 999'999'999'999'999ULL);
    for (const char* bad :
         {"Content-Length: -1\r\n", "Content-Length: 1e3\r\n", "Content-Length:\r\n",
          "Content-Length: 9999999999999999\r\n", "Content-Length: 1\r\nContent-Length: 1\r\n",
          "Transfer-Encoding: chunked\r\n"}) {
        CAPTURE(std::string(bad));
        error.clear();
        CHECK_FALSE(length(bad, error));
        CHECK(error.starts_with("expected "));
    }
}

TEST_CASE("common http: constant-time comparison is plain equality") {
    CHECK(http::constant_time_equal("secret-token", "secret-token"));
    CHECK_FALSE(http::constant_time_equal("secret-token", "secret-tokem"));
    CHECK_FALSE(http::constant_time_equal("secret-token", "secret-toke"));
    CHECK_FALSE(http::constant_time_equal("secret-token", "secret-tokenn"));
    CHECK_FALSE(http::constant_time_equal("secret-token", ""));
    CHECK_FALSE(http::constant_time_equal("", "x"));
    CHECK(http::constant_time_equal("", ""));
    // A repeat of a shorter string is not a match.
    CHECK_FALSE(http::constant_time_equal("abab", "ab"));
}
