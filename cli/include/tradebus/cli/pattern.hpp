// Topic patterns for `tradebus sniff` and `tradebus journal cat`. ZeroMQ only filters by byte
// prefix, so a pattern is split in two: the longest literal prefix becomes the ZeroMQ
// subscription (the broker filters those bytes for us) and the rest is matched here.
//
//   md.tick.AAPL   no wildcard: a plain byte prefix, exactly what ZeroMQ does
//   md.tick.*      `*` is exactly one dot-separated token (NATS style): md.tick.AAPL, not md.tick
//   exec.>         a trailing `>` is one or more further tokens: exec.fill.AAPL, exec.ack.SPY
//   *.fill.>       wildcards anywhere; the subscription is then "" (everything) and the whole
//                  match happens client-side
// Once a pattern has a wildcard it is matched token by token, so md.*.AAPL does not match
// md.tick.AAPL.X (use md.*.AAPL.> or a plain prefix for that).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tradebus::cli {

class topic_pattern {
  public:
    /// Parses `text`. Throws usage_error naming the problem: a wildcard that is not a whole
    /// token (md.ti*), `>` not last, an empty token (md..tick), spaces or control characters.
    /// "" is valid and matches every topic.
    static topic_pattern parse(std::string_view text);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    /// The longest literal prefix: what to subscribe to on the ZeroMQ socket.
    [[nodiscard]] const std::string& subscription() const noexcept { return subscription_; }
    /// True when the pattern has `*` or `>` and so needs matching beyond the subscription.
    [[nodiscard]] bool has_wildcard() const noexcept { return !tokens_.empty(); }
    /// Whether `topic` matches the whole pattern (prefix and wildcards).
    [[nodiscard]] bool matches(std::string_view topic) const noexcept;

  private:
    std::string text_, subscription_;
    std::vector<std::string> tokens_;  // only for wildcard patterns: "*", ">" or a literal
};

/// Several patterns: a topic is shown when any of them matches. No pattern = every topic.
class topic_filter {
  public:
    topic_filter() = default;
    explicit topic_filter(std::vector<topic_pattern> patterns);
    /// Parses each text (throws usage_error on the first bad one).
    static topic_filter parse(const std::vector<std::string>& texts);

    /// The ZeroMQ subscriptions to set, minimal: sorted, no duplicates, and none that a
    /// shorter one already covers (md.tick. is dropped when md. is there). {""} = everything.
    [[nodiscard]] std::vector<std::string> subscriptions() const;
    [[nodiscard]] bool matches(std::string_view topic) const noexcept;
    [[nodiscard]] const std::vector<topic_pattern>& patterns() const noexcept { return patterns_; }

  private:
    std::vector<topic_pattern> patterns_;
};

}  // namespace tradebus::cli
