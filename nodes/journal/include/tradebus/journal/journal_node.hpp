// The journal node's logic: subscribes to every topic and appends each message, topic plus the
// msgpack body exactly as received (undecodable ones too, flagged), to the segmented log in
// `dir`. It also watches every (source, topic) sequence and writes a gap-marker record before
// the event that revealed a gap or a publisher restart, so the log itself says where it is
// incomplete.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/journal/link_position.hpp"
#include "tradebus/journal/query_service.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/runtime/gap_tracker.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::journal {

/// Where the query endpoint binds by default: loopback, a free port picked by the OS (the
/// bound endpoint is announced through the broker, so nobody needs to know it in advance).
inline constexpr std::string_view default_query_endpoint = "tcp://127.0.0.1:*";

struct journal_config {
    writer_options writer;
    bool record_gaps = true;
    /// Where events come from: "recorder" = the broker's lossless recorder endpoint
    /// (`recorder_endpoint`), "bus" = the broker's XPUB like every node (lossy under load).
    std::string source = "bus";
    std::string recorder_endpoint;
    std::string query_endpoint = std::string(default_query_endpoint);  // "" = no query service
    query_limits query;
};

/// Reads [journal] (`own`); problems are recorded in `own`.
journal_config read_config(common::section& own);

/// What a gap marker says (its body is this as a msgpack map; FORMAT.md "Gap markers").
struct gap_marker {
    // "gap" (messages lost), "restart" (the publisher's seq began again) or "broker_restart"
    // (the broker's epoch changed: what was published while it was down is lost)
    std::string kind;
    std::string src;
    std::string topic;
    std::uint64_t expected_seq = 0, got_seq = 0, missing = 0;
    std::uint64_t old_epoch = 0, new_epoch = 0;  // broker_restart only
};

/// Encodes `m` as a msgpack map with string keys: type ("journal_gap"), kind, src, topic,
/// expected_seq, got_seq, missing, and for kind broker_restart also old_epoch, new_epoch.
[[nodiscard]] std::string encode_gap_marker(const gap_marker& m);

class journal_node final : public runtime::node_logic {
  public:
    explicit journal_node(journal_config cfg);

    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {""}; }
    [[nodiscard]] std::vector<std::string> publications() const override { return {}; }
    [[nodiscard]] std::string data_endpoint() const override;
    /// Every event is journaled as it passes; the broker's cached values were journaled then.
    [[nodiscard]] bool wants_last_values() const override { return false; }
    /// Opens the journal (recovering a torn tail). Throws std::runtime_error when the directory
    /// cannot be used: the runtime exits 1 with that message.
    void on_start(runtime::context& ctx) override;
    void on_event(runtime::context& ctx, const runtime::inbound& in) override;
    void on_undecodable(runtime::context& ctx, std::string_view topic, std::string_view raw,
                        const schema::decode_error& why) override;
    /// A recorder keeps what passed, also an event on a topic its type does not belong to
    /// (the runtime counted it as misrouted; readers of the journal skip it the same way).
    void on_misrouted(runtime::context& ctx, const runtime::inbound& in) override {
        on_event(ctx, in);
    }
    /// Group commit: writes (write(2), no fsync) every record this poll turn appended, so a
    /// crash of the process loses nothing it received; fdatasync stays on the fsync policy.
    void on_drained(runtime::context& ctx) override;
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;
    void on_stop(runtime::context& ctx) override;
    /// Writes a broker_restart marker (FORMAT.md "Gap markers"): the runtime calls it once the
    /// broker's control plane showed a new epoch.
    void on_broker_restart(runtime::context& ctx, std::uint64_t old_epoch,
                           std::uint64_t new_epoch) override;
    /// The recorder link (source = "recorder"): takes exactly the message after the last one
    /// stored, once recorder_resume was sent (the broker may resend before its reply is read);
    /// drops duplicates and anything ahead
    /// (asking to resume again when only messages ahead come for a second).
    bool on_recorder_seq(runtime::context& ctx, std::uint64_t epoch, std::uint64_t seq) override;

    /// The last link message stored (buffered or written), and the last one written.
    [[nodiscard]] link_position link_stored() const noexcept { return pos_; }
    [[nodiscard]] std::uint64_t recorder_gaps() const noexcept { return recorder_gaps_; }

    [[nodiscard]] const writer* log() const noexcept { return writer_ ? &*writer_ : nullptr; }
    [[nodiscard]] std::uint64_t gaps_recorded() const noexcept { return gaps_recorded_; }

  private:
    void store(runtime::context& ctx, std::string_view topic, std::string_view raw, std::int64_t ts,
               std::uint16_t flags);
    void check_health(runtime::context& ctx);
    // Asks the broker to resume again when a sequence number has been missing for a second
    // (from on_recorder_seq and from the timer, so a quiet bus cannot leave the link stuck).
    void resume_if_stuck(runtime::context& ctx);
    // The recorder link's control requests: a resume when wanted, else an ack when due.
    void drive_link(runtime::context& ctx);
    // `same_epoch`: the log's position was in the reply's epoch when the resume was sent.
    void on_resumed(runtime::context& ctx, const schema::recorder_resume_reply& r, bool same_epoch);

    bool link_ = false;               // source = "recorder"
    bool had_position_ = false;       // the log held a link position at start
    link_position pos_;               // last link message stored
    link_position written_;           // last link message written (flushed)
    std::uint64_t acked_ = 0;         // last one acknowledged (of written_.epoch)
    std::uint64_t link_epoch_ = 0;    // the epoch a recorder_resume_ok put us in (0: none)
    std::uint64_t resume_epoch_ = 0;  // the epoch of the recorder_resume last sent
    bool want_resume_ = false, resuming_ = false, acking_ = false;
    bool need_mark_ = true;           // the next link record is preceded by a mark
    std::uint64_t since_mark_ = 0;    // link records since the last mark
    std::uint64_t dropped_seen_ = 0;  // writer_->dropped_records() at the last flush
    std::int64_t next_ack_ms_ = 0, ahead_since_ms_ = 0, next_resume_ms_ = 0;
    std::uint64_t ahead_seq_ = 0;  // the latest sequence number that came ahead of its turn
    bool link_failing_ = false;    // a recorder_resume was refused: health degraded meanwhile
    std::uint64_t recorder_gaps_ = 0, gap_event_seq_ = 0;
    common::rate_limited link_log_;

    journal_config cfg_;
    std::optional<writer> writer_;
    std::optional<query_service> query_;
    runtime::gap_tracker gaps_;
    std::uint64_t gaps_recorded_ = 0;
    bool degraded_ = false;
    common::rate_limited gap_log_;
};

/// logic_factory for run_node.
std::unique_ptr<runtime::node_logic> make_journal(common::section& own);

}  // namespace tradebus::journal
