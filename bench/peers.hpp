// The peers section: tradebus-broker against Redis pub/sub and NATS, each driven by its own C
// client in threads of the driver: tradebus with the node runtime's transport
// (runtime::zmq_transport), Redis with hiredis, NATS with cnats. The bench starts its own
// redis-server and nats-server on free loopback ports (no persistence, no files outside the
// temp dir) and waits for each by a real round trip (PING/PONG), never a sleep.
//
// Every system carries the same bytes: a tick encoded with schema::encode_event, a fresh
// envelope seq per message, on the subject md.tick.<SYM> (topic, channel or subject). Every
// subscriber fully decodes each message with schema::decode_event and checks seq continuity
// (a jump = lost, counted). Two measurements:
// - run_peer_stream: 1 publisher -> S subscribers with credit-based flow control (at most
//   `window` messages in flight towards the slowest subscriber, the same window for every
//   system, below every buffer limit on the path): the zero-loss rate of each.
// - run_peer_latency: A -> server -> B -> server -> A at a fixed open-loop rate, B echoing the
//   body on another subject; one-way latency = half the round trip.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bus_target.hpp"
#include "latency.hpp"

namespace tradebus::bench {

/// One client connection of a system ("a node"): publishes on subjects and receives from at
/// most one subscription. Publishing and receiving may run on two threads at once (the
/// latency run's A); everything else is one thread at a time.
class peer_client {
  public:
    using handler = std::function<void(std::string_view subject, std::string_view body)>;
    virtual ~peer_client() = default;
    /// Receives `subject` from now on (tradebus: as a prefix; the runs use distinct symbols).
    virtual void subscribe(const std::string& subject) = 0;
    /// Queues one message (Redis: a pipelined PUBLISH, sent by flush()).
    virtual void publish(const std::string& subject, std::string_view body) = 0;
    /// Pushes out what publish() queued (Redis: writes the pipeline and takes the PUBLISH
    /// replies that have arrived, waiting only when more than 1024 are outstanding; tradebus
    /// and NATS: their I/O threads send on their own, nothing to do).
    virtual void flush() = 0;
    /// After the last publish: waits for every outstanding acknowledgement (Redis: the PUBLISH
    /// replies) and counts the bad ones in errors().
    virtual void settle() = 0;
    /// Waits up to `timeout` for the first message, then hands it and every further message
    /// already waiting (at most `budget`) to `on`; returns how many.
    virtual std::size_t receive(const handler& on, std::chrono::milliseconds timeout,
                                std::size_t budget) = 0;
    /// Errors seen so far (failed publishes, bad replies); must stay 0.
    [[nodiscard]] virtual std::uint64_t errors() const = 0;
};

/// A running system under test: tradebus-broker, redis-server or nats-server.
class peer_server {
  public:
    virtual ~peer_server() = default;
    /// "tradebus", "Redis", "NATS".
    [[nodiscard]] virtual std::string_view name() const = 0;
    /// Server and client library versions, for the notes.
    [[nodiscard]] virtual std::string version() const = 0;
    /// How its clients are driven (for the notes).
    [[nodiscard]] virtual std::string clients() const = 0;
    [[nodiscard]] virtual pid_t pid() const = 0;
    [[nodiscard]] std::optional<double> cpu_seconds() const { return read_cpu_seconds(pid()); }
    /// A new client. `low_latency`: for the latency runs, each message goes out as it is
    /// published (NATS: natsOptions_SetSendAsap; cnats' flusher thread otherwise waits up to a
    /// millisecond to batch; the others send at once anyway).
    [[nodiscard]] virtual std::unique_ptr<peer_client> connect(bool low_latency) = 0;
    /// Throws std::runtime_error (with the server's log) when it has exited.
    virtual void check_alive() = 0;
    /// SIGTERM and wait; the exit status (0 = clean).
    virtual int stop() = 0;
};

/// tradebus-broker, already started (bus_target); each client has its own ZeroMQ context with
/// one I/O thread, as a node process has.
[[nodiscard]] std::unique_ptr<peer_server> tradebus_peer(bus_target& broker);

/// `name` on PATH, else in /usr/bin or /usr/sbin; nullopt when absent.
[[nodiscard]] std::optional<std::string> find_server_executable(const std::string& name);

/// Starts redis-server (`exe`) on a free 127.0.0.1 port, no RDB, no AOF, working dir in the
/// temp dir, pub/sub output-buffer limits set explicitly; returns once PING answers PONG.
[[nodiscard]] std::unique_ptr<peer_server> start_redis(const std::string& exe, const temp_dir& dir,
                                                       std::chrono::milliseconds timeout);
/// Starts nats-server (`exe`) on a free 127.0.0.1 port; returns once a client connected and a
/// PING/PONG (natsConnection_FlushTimeout) went through.
[[nodiscard]] std::unique_ptr<peer_server> start_nats(const std::string& exe, const temp_dir& dir,
                                                      std::chrono::milliseconds timeout);

struct peer_stream_options {
    std::size_t subscribers = 1;
    std::uint64_t messages = 100'000;  // published
    std::uint64_t window = 1000;       // in flight towards the slowest subscriber
    std::uint64_t batch = 250;         // publishes per flush() at most
    std::chrono::milliseconds time_limit{20'000};
    std::string symbol = "PEER";  // the run's subject is md.tick.<symbol>
};

struct peer_stream_result {
    std::uint64_t sent = 0, expected = 0, received = 0;
    std::uint64_t lost = 0;          // expected - received
    std::uint64_t gap_messages = 0;  // by the seq jumps
    std::uint64_t bad = 0;           // undecodable, out of order, client errors
    bool timed_out = false;
    double seconds = 0;             // first publish -> last delivery
    double delivered_per_s = 0;     // per subscriber: received / subscribers / seconds
    double server_cpu_seconds = 0;  // utime + stime of the server over the run
    double server_cpu_us_per_delivery = 0;
};

[[nodiscard]] peer_stream_result run_peer_stream(peer_server& server,
                                                 const peer_stream_options& opts);

/// One-way latency at a fixed rate: round trips timed as run_latency times them, each halved
/// (samples and percentiles in us, one-way). Throws when a message was undecodable or a client
/// failed.
[[nodiscard]] latency_result run_peer_latency(peer_server& server, const latency_options& opts,
                                              const std::string& symbol);

}  // namespace tradebus::bench
