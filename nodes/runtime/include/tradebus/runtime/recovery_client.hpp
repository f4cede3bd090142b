// The runtime's recovery phase (node.hpp node_logic::recovery): look up the journal's query
// endpoint through the broker (control message `lookup`, its own REQ socket so heartbeats go
// on), then page through `journal_query` (REQ with the Lazy Pirate timeout) and hand every
// record to the engine. Anything that fails (no journal announced, no answer, a malformed
// reply) is logged with its reason and retried after a delay from the lookup on: the node
// stays "starting" and acts on nothing until recovery is complete.
//
// With an anchor topic (recovery_request) the query first pages one record at a time through
// that topic alone, keeping the last one; the journal scans for it and returns only matches, so
// the search costs one scan of the journal since since_ns and one reply per anchor record.
// Then the anchor record is fed and the real prefixes are read from right after it; unless the
// request has a replay_since_ns and the anchor was published after it: then the real prefixes
// (which match the anchor topic too) are read from replay_since_ns, the anchor fed in its place.
//
// Live events that arrive meanwhile on the recovery prefixes are held (up to a bound) and
// released once recovery is done, minus those the journal already returned: an event counts as
// returned when its (src, topic) had a journaled event with the same or a later (ts_ns, seq).
// If the bound is hit the held events are dropped and, once the query reports done, it is run
// once more from where it stopped so the journal's copy of them is read instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/curve.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/runtime/record_frames.hpp"

namespace tradebus::runtime {

namespace recovery_defaults {
inline constexpr std::int64_t page_records = 1000;  // per journal_query (the journal caps too)
inline constexpr std::size_t max_held = 100'000;    // live events held back during recovery
inline constexpr std::string_view service = "journal";
}  // namespace recovery_defaults

class recovery_client {
  public:
    /// Called for every record (topic, raw body) in journal order.
    using feed_fn = std::function<void(std::string_view topic, std::string_view body)>;

    recovery_client(zmq::context_t& ctx, std::string control_endpoint,
                    std::chrono::milliseconds timeout, std::int64_t retry_ms,
                    recovery_request request,
                    std::int64_t page_records = recovery_defaults::page_records,
                    std::size_t max_held = recovery_defaults::max_held,
                    common::curve_client curve = {});  // a CURVE broker's keys; {} = plaintext

    /// Sends the next request when due; abandons one that timed out (and schedules a retry).
    void drive(std::int64_t now_ms);
    /// The socket a reply is awaited on, or nullptr.
    [[nodiscard]] zmq::socket_t* waiting_socket() noexcept;
    /// When drive() must run next (mono ms).
    [[nodiscard]] std::int64_t next_deadline_ms() const noexcept;
    /// Reads the reply on waiting_socket() and feeds the records it carries.
    void on_readable(std::int64_t now_ms, const feed_fn& feed);
    [[nodiscard]] bool done() const noexcept { return state_ == state::done; }

    /// A live event on a recovery prefix that arrived before done(): held back.
    void hold(std::string_view topic, std::string_view raw);
    /// Remembers what a fed record's envelope said (for dropping held duplicates).
    void note_recovered(std::string_view topic, const schema::envelope& env);
    /// The held events not already recovered, in arrival order (call once, after done()).
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> release_held();

    [[nodiscard]] bool wants(std::string_view topic) const noexcept;
    [[nodiscard]] std::uint64_t records() const noexcept { return records_; }
    [[nodiscard]] std::uint64_t pages() const noexcept { return pages_; }
    [[nodiscard]] std::uint64_t attempts_failed() const noexcept { return failures_; }
    [[nodiscard]] const std::string& last_problem() const noexcept { return problem_; }
    [[nodiscard]] const std::string& journal_endpoint() const noexcept { return endpoint_; }

  private:
    enum class state { idle, lookup, query, done };
    void fail(std::int64_t now_ms, std::string why);
    void send_query(std::int64_t now_ms);
    void on_lookup_reply(std::int64_t now_ms, const std::string& bytes);
    void on_query_reply(std::int64_t now_ms, const feed_fn& feed);
    void reset_query_socket();
    /// The anchor found was published after request_.replay_since_ns (a non-zero one).
    [[nodiscard]] bool anchor_after_replay_since() const;
    /// Decodes a reply that should be `Reply`; anything else is a failure (logged with `what`,
    /// or `refused` for an error reply) and gives nullopt.
    template <class Reply>
    std::optional<Reply> expect(std::int64_t now_ms, std::string_view bytes, std::string_view what,
                                std::string_view refused);

    zmq::context_t& ctx_;
    control_client broker_;
    std::chrono::milliseconds timeout_;
    std::int64_t retry_ms_;
    recovery_request request_;
    std::int64_t page_records_;
    std::size_t max_held_;

    state state_ = state::idle;
    std::int64_t next_try_ms_ = 0, query_deadline_ms_ = 0;
    std::string endpoint_, out_;
    std::optional<zmq::socket_t> query_;
    std::uint64_t from_index_ = 0, records_ = 0, pages_ = 0, failures_ = 0;
    std::int64_t since_ns_ = 0;  // of the queries: request_.since_ns, or its replay_since_ns
    bool overflowed_ = false, catch_up_ = false;
    // Anchor search (recovery_request::anchor_topic): the last anchor record seen so far and
    // the index right after it; the main query then starts there.
    bool anchor_phase_ = false;
    std::optional<record_pair> anchor_;
    std::uint64_t anchor_next_ = 0;
    std::string problem_;
    common::rate_limited log_{std::chrono::seconds(5)};

    struct last_seen {
        std::int64_t ts_ns = 0;
        std::uint64_t seq = 0;
    };
    std::map<std::pair<std::string, std::string>, last_seen> recovered_;  // (src, topic)
    std::vector<std::pair<std::string, std::string>> held_;
};

}  // namespace tradebus::runtime
