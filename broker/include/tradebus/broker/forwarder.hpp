// The data plane's hot path: events XSUB -> XPUB and subscriptions XPUB -> XSUB, as zmq_proxy
// moves them (so any plain SUB works), plus a per-message check, per-topic counters and drop
// counting. Messages are moved between sockets as zmq::message_t (no copy of the payload and
// no allocation per message; the counter table grows only when new topics arrive).
// Every send uses dontwait: the broker never blocks on a slow subscriber. Drops at a
// subscriber's SNDHWM happen inside libzmq and are silent (XPUB without NODROP); subscribers
// see them as sequence gaps (PROTOCOL.md "Broker behaviour").
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <zmq.hpp>

#include "tradebus/broker/data_stats.hpp"
#include "tradebus/broker/last_value_cache.hpp"
#include "tradebus/broker/recorder.hpp"
#include "tradebus/broker/topic_acl.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

class forwarder {
  public:
    /// Both sockets and `stats` must outlive the forwarder; all are used from one thread.
    forwarder(zmq::socket_t& xsub, zmq::socket_t& xpub, std::size_t max_message_bytes,
              data_stats& stats, std::size_t max_subscriptions = 10'000);

    /// Moves up to `budget` messages from XSUB to XPUB, dropping (and counting) invalid ones.
    /// Returns how many messages were read; fewer than `budget` means XSUB is drained.
    std::size_t drain_events(std::size_t budget);

    /// Passes up to `budget` (un)subscription frames from XPUB to XSUB. Returns frames read.
    /// At most `max_subscriptions` distinct prefixes are subscribed upstream at a time: a
    /// subscribe to a further prefix is dropped (subscription_limit), and so is the matching
    /// unsubscribe later. XSUB queues these frames to publishers without a limit (SNDHWM 0),
    /// so each publisher gets exactly the subscriptions passed.
    std::size_t drain_subscriptions(std::size_t budget);
    /// Distinct prefixes subscribed upstream now (by subscribers and the recorder).
    [[nodiscard]] std::size_t subscriptions() const noexcept { return upstream_.size(); }

    /// The lossless link (recorder.hpp): every message goes to `r` before XPUB, and
    /// drain_events() reads nothing while `r` is stalled. Null (the default) = no recorder.
    void attach_recorder(recorder* r) noexcept { recorder_ = r; }
    /// Offers what the recorder holds to it again and sends what it took on to XPUB.
    /// Returns true when the recorder is no longer stalled.
    bool resume_recorder();
    /// Passes the recorder's (un)subscription frames to XSUB, so publishers send what only
    /// the journal subscribes to.
    std::size_t drain_recorder_subscriptions(std::size_t budget);
    /// CURVE on: check every event's sender against `acl` (which must outlive the forwarder).
    /// Without this call (plaintext) the hot path never looks at connection metadata.
    void enforce(topic_acl& acl) noexcept { acl_ = &acl; }
    /// Keeps the last forwarded message of covered topics in `lvc` (null = none). It must
    /// outlive the forwarder; used from the same thread.
    void cache_into(last_value_cache* lvc) noexcept { lvc_ = lvc; }

    /// Sends the broker's own [topic][body] on XPUB (never blocks; counted like a forward).
    void publish(std::string_view topic, std::string_view body);

  private:
    void dropped(drop_reason r, std::string_view socket);
    void to_xpub(zmq::message_t& topic, zmq::message_t& body);
    std::size_t pass_subscriptions(zmq::socket_t& from, std::string_view name, std::size_t budget);

    zmq::socket_t& xsub_;
    zmq::socket_t& xpub_;
    std::size_t max_message_bytes_;
    data_stats& stats_;
    recorder* recorder_ = nullptr;
    topic_acl* acl_ = nullptr;
    zmq::message_t topic_, body_, extra_;  // reused: recv() replaces their content
    last_value_cache* lvc_ = nullptr;
    zmq::message_t lvc_topic_, lvc_body_;  // what is cached once the send succeeded
    std::array<common::rate_limited, drop_reason_count> warn_;
    // Prefixes subscribed upstream: bit 1 = by XPUB's subscribers, bit 2 = by the recorder's
    // (each socket sends one subscribe per prefix, and one unsubscribe when its last goes).
    std::unordered_map<std::string, std::uint8_t> upstream_;
    std::size_t max_subscriptions_;
};

}  // namespace tradebus::broker
