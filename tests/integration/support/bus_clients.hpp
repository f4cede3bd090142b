// ZeroMQ clients for tests, each with a timeout so no test can hang: a control-plane REQ
// client (Lazy Pirate: on timeout the socket is closed and reopened), a SUB and a PUB for the
// data plane, and the slow-joiner wait (publish probes until one arrives). Every socket has
// linger 0, so a test never waits for unsent messages at exit.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/curve.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/frame_pairs.hpp"

namespace tradebus::test {

using namespace std::chrono_literals;

class control_client {
  public:
    /// `keys`: CURVE client keys for a secured broker (empty = plaintext), as for every client.
    control_client(zmq::context_t& ctx, std::string endpoint, common::curve_client keys = {});

    /// Sends `request` and waits up to `timeout` for one reply. nullopt on timeout (the REQ
    /// socket is then reopened) or when the reply does not decode (`last_error()` says why).
    std::optional<schema::control_message> request(const schema::control_message& request,
                                                   std::chrono::milliseconds timeout = 5s);
    /// Sends raw frames as one multipart request; returns every reply frame, nullopt on timeout.
    std::optional<std::vector<std::string>> request_frames(const std::vector<std::string>& frames,
                                                           std::chrono::milliseconds timeout = 5s);
    /// Sends raw frames as one multipart request; returns the reply frame, nullopt on timeout.
    std::optional<std::string> request_raw(const std::vector<std::string>& frames,
                                           std::chrono::milliseconds timeout = 5s);

    /// request() that must succeed with a `Reply` (fails the test otherwise, with the error).
    template <class Reply>
    Reply call(const schema::control_message& req, std::chrono::milliseconds timeout = 5s) {
        auto reply = request(req, timeout);
        REQUIRE_MESSAGE(reply.has_value(), "no reply from " << endpoint_ << ": " << last_error_);
        if (const auto* e = std::get_if<schema::error_reply>(&*reply)) {
            FAIL("expected " << Reply::type_name << ", got error " << e->code << ": " << e->reason);
        }
        REQUIRE_MESSAGE(std::holds_alternative<Reply>(*reply),
                        "expected " << Reply::type_name << ", got " << schema::type_name(*reply));
        return std::get<Reply>(*reply);
    }

    /// request() that must come back as an error reply.
    schema::error_reply call_error(const schema::control_message& req,
                                   std::chrono::milliseconds timeout = 5s);

    [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }

  private:
    void reset();
    zmq::context_t& ctx_;
    std::string endpoint_;
    common::curve_client keys_;
    std::unique_ptr<zmq::socket_t> socket_;
    std::string last_error_;
};

/// One data-plane message as received.
struct bus_message {
    std::string topic;
    std::string body;
    std::size_t frames = 0;
    /// The decoded body, when it is a valid event.
    [[nodiscard]] std::optional<schema::event> event() const;
};

class subscriber {
  public:
    subscriber(zmq::context_t& ctx, const std::string& xpub_endpoint,
               const std::vector<std::string>& prefixes, const common::curve_client& keys = {});
    /// The next message within `timeout`, or nullopt.
    std::optional<bus_message> recv(std::chrono::milliseconds timeout);
    /// Receives until `match` accepts a message (returned) or `timeout` passes (nullopt);
    /// messages it rejects are discarded.
    std::optional<bus_message> recv_until(const std::function<bool(const bus_message&)>& match,
                                          std::chrono::milliseconds timeout);
    zmq::socket_t& socket() noexcept { return socket_; }

  private:
    zmq::socket_t socket_;
};

class publisher {
  public:
    /// `sndhwm` > 0 sets the PUB's queue (messages) before connecting; 0 = libzmq's 1000.
    publisher(zmq::context_t& ctx, const std::string& xsub_endpoint,
              const common::curve_client& keys = {}, int sndhwm = 0);
    publisher(zmq::context_t& ctx, const std::string& xsub_endpoint, int sndhwm)
        : publisher(ctx, xsub_endpoint, common::curve_client{}, sndhwm) {}
    void send(std::string_view topic, std::string_view body);
    /// Any frames as one multipart message (garbage tests).
    void send_frames(const std::vector<std::string>& frames);
    zmq::socket_t& socket() noexcept { return socket_; }

  private:
    zmq::socket_t socket_;
};

/// The slow-joiner wait: publishes `probe_topic` on `pub` until `sub` (subscribed to a prefix
/// of it) receives one, which proves both connections and the subscription are through.
/// Fails the test after `timeout`. Returns the probes sent.
std::size_t wait_until_flowing(publisher& pub, subscriber& sub, std::string_view probe_topic,
                               std::chrono::milliseconds timeout = 10s);

/// A `snapshot` reply (PROTOCOL.md): the header and its [topic][body] pairs.
struct cached_snapshot {
    schema::snapshot_reply header;
    std::vector<schema::frame_pair> pairs;
};
/// One page of the broker's last-value cache under `prefix`; fails the test on no answer, an
/// error reply or a malformed multipart reply.
cached_snapshot ask_snapshot(control_client& control, const std::string& prefix,
                             const std::string& after = "");
/// Asks again until `done` accepts the snapshot; fails the test after `timeout`.
cached_snapshot wait_snapshot(control_client& control, const std::string& prefix,
                              const std::function<bool(const cached_snapshot&)>& done,
                              std::chrono::milliseconds timeout = 10s);

/// An encoded event body for tests (a tick from `src` with sequence `seq`).
[[nodiscard]] std::string sample_tick(std::string_view symbol, std::uint64_t seq);

struct seen {
    std::string topic;
    schema::event ev;
};

// A subscriber that keeps what it received, in arrival order, decoded (raw test probes and other
// undecodable bodies are skipped).
class bus_log {
  public:
    bus_log(zmq::context_t& ctx, const std::string& xpub, const std::vector<std::string>& prefixes)
        : sub_(ctx, xpub, prefixes) {}

    // Receives until `match` accepts an event and returns it; fails the test when `guard`
    // passes first (a hang guard).
    seen expect(const std::function<bool(const seen&)>& match, std::chrono::milliseconds guard,
                std::string_view what) {
        const auto deadline = std::chrono::steady_clock::now() + guard;
        while (std::chrono::steady_clock::now() < deadline) {
            auto s = next(std::chrono::milliseconds(20));
            if (s && match(*s)) return *s;
        }
        FAIL("no " << what << " within " << guard.count() << " ms (" << events.size()
                   << " events received)");
        return {};
    }

    // Everything that arrives during `d` (for "nothing of this kind arrives" checks).
    std::vector<seen> collect(std::chrono::milliseconds d) {
        std::vector<seen> out;
        const auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) {
            if (auto s = next(std::chrono::milliseconds(20))) out.push_back(std::move(*s));
        }
        return out;
    }

    // The first event already received that `match` accepts, else as expect().
    seen find_or_expect(const std::function<bool(const seen&)>& match,
                        std::chrono::milliseconds guard, std::string_view what) {
        for (const auto& s : events) {
            if (match(s)) return s;
        }
        return expect(match, guard, what);
    }

    subscriber& sub() noexcept { return sub_; }
    std::vector<seen> events;  // everything received so far, in order

  private:
    std::optional<seen> next(std::chrono::milliseconds timeout) {
        auto m = sub_.recv(timeout);
        if (!m) return std::nullopt;
        auto ev = m->event();
        if (!ev) return std::nullopt;
        events.push_back({m->topic, std::move(*ev)});
        return events.back();
    }

    subscriber sub_;
};

}  // namespace tradebus::test
