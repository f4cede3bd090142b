// libFuzzer target: an HTTP request head as the web node's server takes it (common/http.hpp):
// the bytes cut at the server's head bound, head_end, parse_request, header lookups, the
// body's Content-Length, the search query's value and an action form's fields. Properties:
// nothing crashes, every view lies inside the input, the path starts with '/', a length is at
// most 15 digits, a query value never exceeds its bound. tests/fuzz/run.sh runs it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tradebus/common/http.hpp"

namespace {

constexpr std::size_t max_head = 8192;  // the web server's http_limits::max_request_bytes

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "tradebus fuzz: %s\n", what);
    std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tradebus::common;
    const std::string input(reinterpret_cast<const char*>(data), std::min(size, max_head + 1));
    const std::size_t end = http::head_end(input);
    require(end == std::string::npos || end <= input.size(), "head_end past the input");
    const std::string_view head =
        end == std::string::npos ? std::string_view(input) : std::string_view(input).substr(0, end);
    std::string error;
    const auto r = http::parse_request(head, error);
    if (!r) {
        require(error.starts_with("expected "), "a refusal that does not say what was expected");
        return 0;
    }
    require(inside(r->method, head) && inside(r->path, head) && inside(r->query, head) &&
                inside(r->headers, head),
            "a request view outside the head");
    require(!r->path.empty() && r->path.front() == '/', "a path without its leading '/'");
    for (const char* name : {"Host", "x-token", "Content-Length", ""}) {
        if (const auto v = http::header(*r, name)) require(inside(*v, head), "a header outside");
    }
    require(http::query_value(r->query, "q", 255).size() <= 255, "a query value over its bound");
    if (const auto n = http::content_length(*r, error)) {
        require(*n < 1'000'000'000'000'000ULL, "a Content-Length above 15 digits");
    } else {
        require(error.starts_with("expected "), "a refused length that does not say why");
    }
    // What follows the head is an action's form: its fields decode within their bounds.
    const std::string_view body = std::string_view(input).substr(head.size());
    require(http::query_value(body, "reason", 256).size() <= 256, "a form value over its bound");
    return 0;
}
