// Plain HTTP/1.x pieces (http.hpp).
#include "tradebus/common/http.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tradebus/common/config.hpp"

namespace tradebus::common::http {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> listen_endpoint_error(std::string_view ep) {
    const std::string expected =
        "expected tcp://host:port (e.g. \"tcp://127.0.0.1:8470\"), got \"" + std::string(ep) + "\"";
    const auto colon = ep.rfind(':');
    const std::string_view port = colon == std::string_view::npos ? "" : ep.substr(colon + 1);
    const bool numeric =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!ep.starts_with("tcp://") || colon <= 6 || !numeric) return expected;
    const int n = std::stoi(std::string(port));
    if (n == 0 || n > 65535 || endpoint_error(ep)) return expected;
    return std::nullopt;
}

int listen_tcp(const std::string& endpoint, std::string& error) {
    if (auto why = listen_endpoint_error(endpoint)) {
        error = *why;
        return -1;
    }
    const std::string addr = endpoint.substr(6);
    const std::size_t colon = addr.rfind(':');
    std::string host = addr.substr(0, colon);
    const std::string port = addr.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const int rc =
        ::getaddrinfo(host == "*" ? nullptr : host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        error = ::gai_strerror(rc);
        return -1;
    }
    int listener = -1;
    int err = 0;
    for (const addrinfo* a = found; a != nullptr && listener < 0; a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        const int one = 1;
        (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
            err = errno;
            ::close(fd);
            continue;
        }
        listener = fd;
    }
    ::freeaddrinfo(found);
    if (listener < 0) error = std::strerror(err);
    return listener;
}

std::size_t head_end(std::string_view r) {
    const std::size_t crlf = r.find("\r\n\r\n");
    const std::size_t lf = r.find("\n\n");
    return std::min(crlf == std::string_view::npos ? crlf : crlf + 4,
                    lf == std::string_view::npos ? lf : lf + 2);
}

std::optional<request> parse_request(std::string_view head, std::string& error) {
    const std::size_t eol = head.find('\n');
    std::string_view line = head.substr(0, eol);
    if (line.ends_with('\r')) line.remove_suffix(1);
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/")) {
        error = "expected an HTTP request line: GET / HTTP/1.1";
        return std::nullopt;
    }
    request r;
    r.method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (target.empty() || target.front() != '/' ||
        std::any_of(target.begin(), target.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
        error = "expected a target starting with '/' without blanks or control characters";
        return std::nullopt;
    }
    const std::size_t q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    r.headers = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 1);
    return r;
}

namespace {

// The value of the first header `name` (ASCII case-insensitive) in `lines`, trimmed; `rest`
// becomes the lines after it ("" when none matched).
std::optional<std::string_view> find_header(std::string_view lines, std::string_view name,
                                            std::string_view& rest) {
    rest = lines;
    while (!rest.empty()) {
        const std::size_t eol = rest.find('\n');
        const std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        if (iequals(trim(line.substr(0, colon)), name)) return trim(line.substr(colon + 1));
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string_view> header(const request& r, std::string_view name) {
    std::string_view rest;
    return find_header(r.headers, name, rest);
}

std::optional<std::size_t> content_length(const request& r, std::string& error) {
    if (header(r, "Transfer-Encoding")) {
        error = "expected a body with a Content-Length (Transfer-Encoding is not accepted)";
        return std::nullopt;
    }
    std::string_view rest;
    const std::optional<std::string_view> found = find_header(r.headers, "Content-Length", rest);
    if (found && find_header(rest, "Content-Length", rest)) {
        error = "expected one Content-Length header, got two";
        return std::nullopt;
    }
    if (!found) return 0;
    const std::string_view v = *found;
    if (v.empty() || v.size() > 15 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        error = "expected a Content-Length of up to 15 decimal digits, got \"" +
                std::string(v.substr(0, 32)) + "\"";
        return std::nullopt;
    }
    std::size_t n = 0;
    for (const char c : v) n = n * 10 + static_cast<std::size_t>(c - '0');
    return n;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    // Every byte of `a` is looked at whatever `b` holds; a length difference is folded in.
    unsigned diff = a.size() == b.size() ? 0U : 1U;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char other = b.empty() ? '\0' : b[i % b.size()];
        diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^
                                      static_cast<unsigned char>(other));
    }
    // Through a volatile so the compiler cannot stop at the first difference.
    volatile unsigned result = diff;
    return result == 0;
}

std::string query_value(std::string_view query, std::string_view key, std::size_t max_bytes) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) != key) continue;
        const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
        std::string out;
        for (std::size_t i = 0; i < raw.size() && out.size() < max_bytes; ++i) {
            if (raw[i] == '+') {
                out += ' ';
            } else if (raw[i] == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 &&
                       hex(raw[i + 2]) >= 0) {
                out += static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
                i += 2;
            } else {
                out += raw[i];
            }
        }
        return out;
    }
    return {};
}

std::string response_head(int code, std::string_view reason, std::string_view content_type,
                          std::optional<std::size_t> length, std::string_view extra) {
    std::string head = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) +
                       "\r\nContent-Type: " + std::string(content_type) + "\r\n";
    if (length) head += "Content-Length: " + std::to_string(*length) + "\r\n";
    head += extra;
    head += "Connection: close\r\n\r\n";
    return head;
}

}  // namespace tradebus::common::http
