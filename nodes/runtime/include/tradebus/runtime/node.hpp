// The contract between the node runtime (the engine: sockets, registration, heartbeats, gap
// accounting, timers) and a node's logic (the actions). A node's logic never touches a socket:
// it gets decoded events and timer calls, and publishes through its context. One thread runs
// everything, so logic needs no locking.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/runtime/session.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/events.hpp"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace tradebus::runtime {

/// What a node's logic may do. Implemented by the runtime (and by test doubles).
class context {
  public:
    virtual ~context() = default;

    /// Publishes `body` on `topic` with a fresh envelope: this node's name, the next sequence
    /// number, the current time, and `trace_id` (use new_trace_id() at a tick; copy the trace
    /// id of the event that caused this one otherwise). Never blocks: at the high-water mark
    /// the message is dropped by ZeroMQ and the subscriber sees a sequence gap.
    template <class Body>
    void publish(std::string_view topic, const Body& body, std::uint64_t trace_id) {
        publish_event(topic, schema::event{schema::envelope{{}, 0, 0, trace_id}, body});
    }

    /// As publish(), for an event held as the variant (the envelope's src/seq/ts are set here).
    virtual void publish_event(std::string_view topic, schema::event ev) = 0;

    /// A random, non-zero trace id for a new chain of events.
    virtual std::uint64_t new_trace_id() = 0;
    /// Wall-clock ns since the Unix epoch, from the engine's clock (clock.hpp): the only time
    /// a node's logic reads, so the same logic runs on a simulated clock.
    virtual std::int64_t now_ns() = 0;
    /// Monotonic ms (any origin) from the engine's clock: for measuring how long a wait lasted.
    virtual std::int64_t mono_ms() = 0;
    [[nodiscard]] virtual const std::string& node_name() const = 0;

    /// The node's own view of its health, reported in the next heartbeat
    /// (healthy or degraded, with a reason such as "market data stale").
    virtual void report_health(schema::health state, std::string reason) = 0;

    /// Ask the runtime to stop the node cleanly (deregister, exit 0) — e.g. a finished replay.
    virtual void request_stop(std::string reason) = 0;

    // ---- extension points for logic that serves requests of its own (the journal's query
    // endpoint). The runtime implements them; the defaults throw std::logic_error.

    /// The process's ZeroMQ context: make sockets the logic owns from it.
    virtual zmq::context_t& zmq_context();
    /// Polls `socket` in the runtime's loop and calls `on_readable` (on the runtime's thread)
    /// whenever it has input. Call unwatch_socket() before closing the socket.
    virtual void watch_socket(zmq::socket_t& socket, std::function<void()> on_readable);
    virtual void unwatch_socket(zmq::socket_t& socket);
    /// Polls file descriptor `fd` (a plain socket the logic owns, non-blocking) in the same
    /// loop for `events` (ZMQ_POLLIN and/or ZMQ_POLLOUT, as zmq_poll takes them) and calls
    /// `on_ready(revents)` on the runtime's thread when any is ready (revents may also hold
    /// ZMQ_POLLERR). Calling it again for a watched fd replaces its events and callback (ask
    /// for POLLOUT only while there is something to write, or the loop spins). Call
    /// unwatch_fd() before closing the descriptor; a callback may unwatch any descriptor.
    virtual void watch_fd(int fd, short events, std::function<void(short revents)> on_ready);
    virtual void unwatch_fd(int fd);
    /// Offers `service` at `endpoint` through the broker (control message `announce`); the
    /// runtime announces it again after every (re-)registration.
    virtual void announce_service(std::string service, std::string endpoint);
    /// The broker's epoch and this node's session, from the last register_ok (0 before the
    /// first): what a control request of the logic's own carries.
    [[nodiscard]] virtual std::uint64_t broker_epoch() const;
    [[nodiscard]] virtual std::uint64_t session_id() const;
    /// Sends `request` (one encoded control message, schema::encode_control) to the broker
    /// once the control socket is free (a heartbeat that is due goes first) and calls
    /// `on_reply` on the runtime's thread with the decoded reply, or with nullptr when none
    /// came (timeout, undecodable reply, session lost). One at a time: returns false and sends
    /// nothing while an earlier request waits for its reply. The journal acknowledges and
    /// resumes the recorder link this way (PROTOCOL.md "The recorder link").
    virtual bool send_control(std::string request,
                              std::function<void(const schema::control_message*)> on_reply);
};

/// One inbound message: its topic, the raw msgpack body as received (the journal stores these
/// bytes unchanged), and the decoded event.
struct inbound {
    std::string_view topic;
    std::string_view raw;
    const schema::event& ev;
};

/// What a node needs replayed from the journal before it may act (PROTOCOL.md "Services"):
/// the journaled events on topics starting with one of `prefixes`, received at or after
/// `since_ns` (e.g. the start of the current session). With an `anchor_topic` (e.g. risk's
/// book snapshot, risk.snapshot.<name>) recovery first finds the last record on exactly that
/// topic received at or after `since_ns`, replays it, then only the records after it; with no
/// such record it replays everything from `since_ns`. With `replay_since_ns` as well (e.g.
/// execution: its resting-order snapshot, and every order id it acted on since then), an anchor
/// the journal received after that time does not cut the replay short: recovery then replays
/// everything received since `replay_since_ns`, the anchor included where it falls (so
/// `prefixes` must match the anchor topic).
struct recovery_request {
    std::vector<std::string> prefixes;
    std::int64_t since_ns = 0;
    std::string anchor_topic;          // empty: none
    std::int64_t replay_since_ns = 0;  // 0: none
};

/// A node's logic. The runtime calls these on its single thread.
class node_logic {
  public:
    virtual ~node_logic() = default;

    /// Topic prefixes to subscribe to (ZeroMQ prefix match; "" = everything).
    [[nodiscard]] virtual std::vector<std::string> subscriptions() const = 0;
    /// Topic prefixes this node publishes (reported at registration; documentation for ACLs).
    [[nodiscard]] virtual std::vector<std::string> publications() const = 0;

    /// Where the SUB socket connects instead of the broker's XPUB (empty = XPUB). The journal
    /// returns the broker's recorder endpoint here (the lossless link, PROTOCOL.md).
    [[nodiscard]] virtual std::string data_endpoint() const { return {}; }

    /// Whether the node gets, right after on_start, the broker's cached last message of each
    /// subscribed prefix the cache keeps (late joiners: the last quote per symbol at once).
    /// A recorder says no: cached values are not new events.
    [[nodiscard]] virtual bool wants_last_values() const { return true; }

    /// The node's name and the desk's trading session ([session] of the node's file), handed
    /// over once right after the logic is made, before anything else is called. Risk and
    /// execution use them (recovery, session boundaries).
    virtual void configure(const std::string& /*node_name*/, const trading_session& /*session*/) {}

    /// State to rebuild from the journal before on_start (nullopt: none). Asked once, when the
    /// node is first ready, with the wall clock. Unless the node's config says start_fresh, the
    /// runtime looks up the journal service, pages through the query and calls on_recover()
    /// for every record, in journal order, then on_start(). Until then the node is "starting"
    /// and live events on the recovery prefixes are held back (others are dropped).
    [[nodiscard]] virtual std::optional<recovery_request> recovery(std::int64_t /*now_ns*/) const {
        return std::nullopt;
    }
    /// One journaled event replayed during recovery (not published again: rebuild state only).
    virtual void on_recover(context&, const inbound&) {}

    /// Called once the node is registered, every dependency is ready and recovery (if any) is
    /// complete, before any live event.
    virtual void on_start(context&) {}

    /// A decoded event arrived on a subscribed topic.
    virtual void on_event(context&, const inbound&) {}

    /// Once per loop turn after start, when everything that poll returned was handed over
    /// (events, replies, watched sockets) and before the next wait: the place to finish a
    /// batch. The journal writes what the turn received here (group commit).
    virtual void on_drained(context&) {}

    /// A message on a subscribed topic failed to decode. The runtime already counted and logged
    /// it (rate-limited); the journal overrides this to keep the raw bytes anyway.
    virtual void on_undecodable(context&, std::string_view /*topic*/, std::string_view /*raw*/,
                                const schema::decode_error&) {}

    /// An event on a subscribed topic whose type does not belong to that topic (a
    /// broker_started body on md.tick.AAPL, PROTOCOL.md "Data plane frames"). The runtime
    /// already counted it (`misrouted`), logged it and acted on nothing; the logic must not act
    /// on it either. The journal overrides this to record what it received anyway.
    virtual void on_misrouted(context&, const inbound&) {}

    /// Timer: called when the deadline it last returned has passed (and once right after
    /// on_start). Returns the next deadline in wall-clock ns, or 0 for "no timer".
    /// Returning a deadline <= now means "call me again as soon as inbound traffic is drained"
    /// (a CSV replay running as fast as possible). Publish a bounded batch per call.
    virtual std::int64_t on_timer(context&, std::int64_t /*now_ns*/) { return 0; }

    /// The broker's control plane showed a new epoch (the broker restarted; the node
    /// re-registers by itself). Called once per change, after on_start, as soon as a heartbeat
    /// or register reply shows it; a sys.broker.started event alone never calls it.
    virtual void on_broker_restart(context&, std::uint64_t /*old_epoch*/,
                                   std::uint64_t /*new_epoch*/) {}

    /// SIGHUP (`systemctl reload`): the runtime parsed the node's config file again and read
    /// its [node], [broker] and [session] tables (checked, but applied only at the next start).
    /// Read the node's own table from `own` as the factory did, recording every problem in it,
    /// and return the step that puts it in force: the runtime runs it only when the whole file
    /// had no error, else calls on_reload_refused and nothing changes. Return an empty function
    /// when this node cannot change its config while running (the default: restart to apply).
    virtual std::function<void(context&)> prepare_reload(common::section& /*own*/) { return {}; }
    /// A reload was refused: `errors` holds every problem, one "file:line:col: ..." per line.
    virtual void on_reload_refused(context&, const std::string& /*errors*/) {}

    /// Only with a data_endpoint() (the broker's recorder link), after on_start: the next
    /// message carries recorder sequence number `seq` of broker epoch `epoch` (its third
    /// frame). True: it goes on to on_event / on_undecodable / on_misrouted as usual. False:
    /// the logic has it already or is not ready for it; it is dropped, the runtime too acts on
    /// nothing in it (the broker sends it again when asked: recorder_resume).
    virtual bool on_recorder_seq(context&, std::uint64_t /*epoch*/, std::uint64_t /*seq*/) {
        return true;
    }
    /// Called on clean shutdown (SIGTERM/SIGINT or request_stop), before deregistering.
    virtual void on_stop(context&) {}

    /// The broker or an operator changed the desk's trading state (sys.trading), or the broker
    /// reported it in a register/heartbeat reply. Risk and execution act on it.
    virtual void on_trading_state(context&, schema::trading_state, const std::string& /*reason*/) {}
};

/// Builds a node's logic from its own config section (e.g. [risk]). Record every problem in the
/// section (section::error / getters); the runtime reports them all and exits 2.
using logic_factory = std::unique_ptr<node_logic> (*)(common::section& own);

/// Runs a node process through common::daemon_main (the broker's main too): parses
/// `-c/--config PATH` (and --check-config, --help, --version) from argv, loads the common
/// [node]/[broker] tables plus the node's own table (named after its kind) via `factory`, then
/// registers, waits for dependencies, runs the logic until SIGTERM/SIGINT (SIGHUP reloads),
/// deregisters and returns the process exit code (0 ok, 1 runtime, 2 usage or config).
int run_node(int argc, char** argv, std::string_view kind, logic_factory factory);

}  // namespace tradebus::runtime
