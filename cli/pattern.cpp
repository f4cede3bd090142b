// Topic patterns: literal prefix for ZeroMQ, wildcard tokens matched here (pattern.hpp).
#include "tradebus/cli/pattern.hpp"

#include <algorithm>

#include "tradebus/cli/usage_error.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {
namespace topics = schema::topics;

namespace {

std::vector<std::string_view> split_tokens(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const auto dot = text.find('.', start);
        if (dot == std::string_view::npos) {
            out.push_back(text.substr(start));
            return out;
        }
        out.push_back(text.substr(start, dot - start));
        start = dot + 1;
    }
}

bool is_wildcard(std::string_view token) { return token == "*" || token == ">"; }

bool has_wildcard_char(std::string_view text) {
    return text.find_first_of("*>") != std::string_view::npos;
}

[[noreturn]] void fail(std::string_view text, std::string_view why) {
    throw usage_error("pattern \"" + std::string(text) + "\": " + std::string(why));
}

constexpr std::string_view whole_tokens =
    "'*' and '>' must be whole dot-separated tokens (e.g. md.tick.*, exec.>)";

}  // namespace

topic_pattern topic_pattern::parse(std::string_view text) {
    if (text.size() > topics::max_topic_bytes) {
        fail(text.substr(0, 32),
             "longer than " + std::to_string(topics::max_topic_bytes) + " bytes");
    }
    topic_pattern p;
    p.text_ = text;
    const auto tokens = split_tokens(text);
    if (std::none_of(tokens.begin(), tokens.end(), is_wildcard)) {
        if (auto error = topics::prefix_error(text)) {
            fail(text, has_wildcard_char(text) ? std::string(whole_tokens) : *error);
        }
        p.subscription_ = text;
        return p;
    }
    bool literal = true;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto token = tokens[i];
        if (token.empty()) fail(text, "has an empty token");
        if (token == ">" && i + 1 != tokens.size()) fail(text, "'>' must be the last token");
        if (is_wildcard(token)) {
            literal = false;
        } else if (auto error = topics::topic_error(token)) {
            fail(text, has_wildcard_char(token) ? std::string(whole_tokens)
                                                : "token \"" + std::string(token) + "\" " + *error);
        } else if (literal) {
            p.subscription_.append(token);
            p.subscription_.push_back('.');
        }
        p.tokens_.emplace_back(token);
    }
    return p;
}

bool topic_pattern::matches(std::string_view topic) const noexcept {
    if (tokens_.empty()) return topics::matches(subscription_, topic);
    // `pos` is where the next topic token starts; size() + 1 once every token is consumed.
    std::size_t pos = 0;
    for (const auto& want : tokens_) {
        if (pos > topic.size()) return false;
        if (want == ">") return pos < topic.size();
        const auto dot = topic.find('.', pos);
        const auto end = dot == std::string_view::npos ? topic.size() : dot;
        const auto token = topic.substr(pos, end - pos);
        if (want == "*" ? token.empty() : token != want) return false;
        pos = end + 1;
    }
    return pos == topic.size() + 1;
}

topic_filter::topic_filter(std::vector<topic_pattern> patterns) : patterns_(std::move(patterns)) {}

topic_filter topic_filter::parse(const std::vector<std::string>& texts) {
    std::vector<topic_pattern> patterns;
    patterns.reserve(texts.size());
    for (const auto& text : texts) patterns.push_back(topic_pattern::parse(text));
    return topic_filter(std::move(patterns));
}

std::vector<std::string> topic_filter::subscriptions() const {
    if (patterns_.empty()) return {""};
    std::vector<std::string> all;
    for (const auto& p : patterns_) all.push_back(p.subscription());
    std::sort(all.begin(), all.end());
    std::vector<std::string> minimal;
    for (auto& s : all) {
        const bool covered = std::any_of(minimal.begin(), minimal.end(), [&](const auto& kept) {
            return topics::matches(kept, s);
        });
        if (!covered) minimal.push_back(std::move(s));
    }
    return minimal;
}

bool topic_filter::matches(std::string_view topic) const noexcept {
    if (patterns_.empty()) return true;
    return std::any_of(patterns_.begin(), patterns_.end(),
                       [&](const auto& p) { return p.matches(topic); });
}

}  // namespace tradebus::cli
