// The broker's Prometheus metrics as text exposition format 0.0.4 (README "Metrics"): a small
// writer that gets the format right (HELP/TYPE per family, label values and HELP text escaped)
// and the function that renders every broker family from the loop thread's own state. Called
// on the loop thread only (THREADING.md), so it reads the counters without copies or locks.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tradebus::broker {

class control_plane;
class last_value_cache;
struct data_stats;

/// Counters of the metrics HTTP endpoint itself (metrics_http.hpp keeps them).
struct metrics_http_stats {
    std::uint64_t ok = 0;                    // 200 answers (scrapes, healthy /health)
    std::uint64_t unavailable = 0;           // 503: /health while not every node is healthy
    std::uint64_t not_found = 0;             // 404: a path other than /metrics
    std::uint64_t bad_request = 0;           // 400: malformed request line
    std::uint64_t method_not_allowed = 0;    // 405: a method other than GET and HEAD
    std::uint64_t too_large = 0;             // 431: request above the byte limit
    std::uint64_t timed_out = 0;             // 408: no complete request within the timeout
    std::uint64_t too_many_connections = 0;  // closed at once: connection limit reached
    std::uint64_t evicted = 0;               // closed to make room: oldest connection still sending
    std::uint64_t unfinished = 0;        // answers the client did not take (closed, or too slow)
    std::uint64_t open_connections = 0;  // gauge
};

/// Writes Prometheus text exposition format 0.0.4 into a string.
class exposition {
  public:
    using label = std::pair<std::string_view, std::string_view>;

    /// Starts a metric family: `# HELP name help` and `# TYPE name type` (type is "counter",
    /// "gauge", "untyped", ...). Every sample of the family must follow before the next one.
    void family(std::string_view name, std::string_view type, std::string_view help);
    /// One sample line `name{labels} value`, label values escaped.
    void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value);
    void sample(std::string_view name, std::initializer_list<label> labels, double value);

    [[nodiscard]] const std::string& text() const noexcept { return out_; }
    [[nodiscard]] std::string take() noexcept { return std::move(out_); }
    void clear() noexcept { out_.clear(); }
    void reserve(std::size_t bytes) { out_.reserve(bytes); }
    void append(std::string_view text) { out_ += text; }

    /// Label value escaping of the format: backslash, double quote and line feed.
    static void escape_label_value(std::string_view value, std::string& out);
    /// HELP escaping of the format: backslash and line feed.
    static void escape_help(std::string_view help, std::string& out);

  private:
    void labels(std::string_view name, std::initializer_list<label> labels);
    std::string out_;
};

/// Everything the broker exposes, read at one instant.
struct metrics_sources {
    const data_stats& data;
    const control_plane& control;
    std::string_view broker_name;
    const last_value_cache* lvc = nullptr;     // null when the cache is off
    const metrics_http_stats* http = nullptr;  // null in unit tests
};

/// Renders every broker metric family into `out` (cleared first). `now_ms` on the mono clock.
void render_metrics(const metrics_sources& src, std::int64_t now_ms, exposition& out);

/// The answer of GET /health (README "Health check"): healthy when every node the broker expects
/// is healthy: each [pipeline] node, and each other registered node that has not stopped
/// (deregistered or declared gone). `json` is one small JSON object: "status" ("ok" or
/// "unavailable"), the broker's name, epoch and trading state, each expected node's state, and
/// when not healthy "reasons", one string per node that is not.
struct health_report {
    bool healthy = false;
    std::string json;
};
[[nodiscard]] health_report render_health(const metrics_sources& src, std::int64_t now_ms);

/// The same text as render_metrics, rendered in slices so that a scrape of a huge topic table
/// never holds the loop (README "Metrics"): start(), then step() once per loop turn until it
/// returns true. Everything but the per-topic rows is rendered in the first step; the topic
/// rows are walked bucket by bucket, at most `rows` per step. A row that appears or goes during
/// the walk may be left out of that scrape. Sources must outlive it; loop thread only.
class metrics_render {
  public:
    explicit metrics_render(const metrics_sources& src) : src_(src) {}
    void start(std::int64_t now_ms);
    /// Renders up to about `rows` more samples; true when the text is complete.
    bool step(std::size_t rows);
    [[nodiscard]] bool busy() const noexcept { return stage_ != stage::idle; }
    [[nodiscard]] std::string take() noexcept {
        last_bytes_ = out_.text().size();
        return out_.take();
    }

  private:
    enum class stage { idle, head, messages, bytes, tail };
    metrics_sources src_;
    exposition out_;
    stage stage_ = stage::idle;
    std::int64_t now_ms_ = 0;
    std::size_t bucket_ = 0, buckets_ = 0;
    std::uint64_t layout_ = 0;  // topic_counters::layout() when the walk started
    // The last text's size: the next one is reserved at once, so growing a multi-megabyte
    // string (a copy of all of it) never happens inside one loop turn.
    std::size_t last_bytes_ = 0;
};

}  // namespace tradebus::broker
