// Plain HTTP/1.x pieces for a process that serves HTTP from its one loop over a non-blocking
// TCP socket (the web node's page; the broker's /metrics endpoint keeps its own copy of the
// listener and head rules until it moves onto these). Parsing only looks at bytes the caller
// already bounded (a request head of at most a few kilobytes): nothing here allocates more
// than its input, and nothing throws on what a client sends.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tradebus::common::http {

/// Why `endpoint` is not a listen address "tcp://host:port" with a port in 1..65535 (host may
/// be "*", an IPv4 address, a name or [IPv6]), or nullopt when it is one.
[[nodiscard]] std::optional<std::string> listen_endpoint_error(std::string_view endpoint);

/// Binds and listens on `endpoint` (checked by listen_endpoint_error) and returns the
/// non-blocking, close-on-exec listening descriptor, or -1 with `error` saying why.
[[nodiscard]] int listen_tcp(const std::string& endpoint, std::string& error);

/// The end of the request head (request line + headers: the offset after the blank line that
/// ends it, CRLF or bare LF), or npos while it is incomplete.
[[nodiscard]] std::size_t head_end(std::string_view request);

/// A request head, as views into the text it was parsed from.
struct request {
    std::string_view method;     // "GET", "POST", ...
    std::string_view path;       // the target up to '?': "/events"
    std::string_view query;      // after '?', "" when none
    std::string_view headers;    // the header lines, unparsed
    std::string_view body = {};  // what followed the head (content_length() bytes); "" for none
};

/// Parses a request head (what head_end() delimited). nullopt, with `error` saying what was
/// expected, when the request line is not METHOD SP target SP HTTP/x.y with a target that
/// starts with '/' and holds no control characters.
[[nodiscard]] std::optional<request> parse_request(std::string_view head, std::string& error);

/// The value of header `name` (ASCII case-insensitive), surrounding blanks trimmed; nullopt
/// when the request has no such header.
[[nodiscard]] std::optional<std::string_view> header(const request& r, std::string_view name);

/// The length of the body the request announces: its Content-Length (0 without one). nullopt,
/// with `error` saying what was expected, for a body this parser does not take: a chunked or
/// otherwise transfer-encoded one (no length to bound it), or a Content-Length that is not a
/// decimal number of at most 15 digits or appears twice. The caller bounds the length.
[[nodiscard]] std::optional<std::size_t> content_length(const request& r, std::string& error);

/// True when `a` and `b` are equal, taking the same time whatever bytes differ (a secret
/// compared with what a client sent: only the lengths may show).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// The value of `key` in a query string (a=1&b=x%20y), percent- and '+'-decoded and cut to
/// `max_bytes`; "" when absent. A malformed escape is kept as it is.
[[nodiscard]] std::string query_value(std::string_view query, std::string_view key,
                                      std::size_t max_bytes);

/// "HTTP/1.1 <code> <reason>\r\nContent-Type: ...\r\n" plus Content-Length (when `length` is
/// set), `extra` header lines (each ending in \r\n), Connection: close and the blank line.
[[nodiscard]] std::string response_head(int code, std::string_view reason,
                                        std::string_view content_type,
                                        std::optional<std::size_t> length,
                                        std::string_view extra = {});

}  // namespace tradebus::common::http
