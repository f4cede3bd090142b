// The boundary between tradebus and QuickFIX. QuickFIX 1.15's headers carry dynamic exception
// specifications that C++17 and later reject, so exactly one translation unit
// (engine_quickfix.cpp, compiled as C++14) includes them; everything else includes only this
// header, which uses nothing newer than C++14 and no QuickFIX type.
//
// Threads (ARCHITECTURE.md "FIX"): QuickFIX runs its sockets and calls back on its own thread.
// The engine turns every callback into an `event` in a queue guarded by a mutex and makes
// `event_fd()` (an eventfd) readable; the owner's single-threaded loop watches that fd and calls
// `drain()`. `send()` may be called from the loop at any time (QuickFIX's session lock makes it
// safe); nothing of the owner's logic runs on QuickFIX's thread.
//
// Messages cross the boundary as FIX text (tag=value fields separated by SOH, "\x01"): the
// owner builds and parses them with tradebus/fix/wire.hpp; inside, QuickFIX parses them with
// the data dictionary, so repeating groups keep their shape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tradebus {
namespace fix {

/// One FIX session and how to run it. Built from a node's [fix] table (config.hpp) or the
/// venue simulator's config.
struct session_settings {
    bool acceptor = false;  // false: we connect (a client); true: we accept (a venue)
    std::string begin_string = "FIX.4.4";
    std::string sender_comp_id, target_comp_id;
    std::string host = "127.0.0.1";  // initiator: where to connect
    int port = 0;                    // initiator: connect to; acceptor: listen on
    int heartbeat_s = 30;            // HeartBtInt the initiator proposes
    int reconnect_s = 5;             // initiator: wait between connection attempts
    int logon_timeout_s = 10;
    bool reset_on_logon = false;  // sequence numbers back to 1 at each logon (loses resends)
    std::string data_dictionary;  // path of a QuickFIX FIX44.xml
    std::string store_dir;        // sequence numbers and sent messages (a FileStore)
    std::string password;         // Logon Password (554), "" = none; read from a file
    bool tls = false;             // OpenSSL through QuickFIX's SSL initiator/acceptor
    std::string tls_ca_file;      // initiator: the venue's CA; acceptor: the clients' CA
    std::string tls_cert_file, tls_key_file;
    /// false: application messages are never sent again when the peer asks for a resend
    /// (QuickFIX sends a gap fill instead). A client's order or cancel delivered minutes late
    /// would act on a stale price; the client learns their fate by status requests instead.
    /// true for a venue (its ExecutionReports must reach the client).
    bool resend_app_messages = true;
    /// Acceptor only: more (sender, target) pairs it accepts besides the first.
    std::vector<std::pair<std::string, std::string> > more_sessions;
};

/// What the QuickFIX thread reports to the loop.
struct event {
    enum kind_t {
        logon,          // the session is logged on (both Logons exchanged)
        logout,         // logged out or disconnected; `text` says why when the peer said
        app_message,    // an application message received (`raw`)
        admin_message,  // a session-level message received (Logout, Reject, ...) (`raw`)
        reject_sent,    // QuickFIX refused a received message (a session Reject or
                        // BusinessMessageReject it sends); `raw` is what it sent
        log,            // QuickFIX's own event text (resends, sequence resets, errors)
        overflow,       // the queue was full: messages were dropped; reconnect and reconcile
    };
    kind_t kind = log;
    std::string session;  // "SENDER->TARGET" as seen from this side
    std::string raw;      // FIX text
    std::string text;
};

class engine {
  public:
    /// Most events queued before the loop drains them; beyond it messages are dropped and one
    /// `overflow` event says so (the owner then disconnects and reconciles: QuickFIX has
    /// already counted the dropped messages as received).
    static const std::size_t max_queued = 65536;

    /// Throws std::runtime_error with QuickFIX's reason (a dictionary that does not load, a
    /// store directory that cannot be created, a port in use).
    explicit engine(const session_settings& settings);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    /// Starts QuickFIX's thread (connects, or listens). Throws std::runtime_error.
    void start();
    /// Logs out (waiting up to 1 s for the peer's Logout) and stops QuickFIX's thread
    /// (idempotent).
    void stop();

    /// Readable while events wait in the queue.
    int event_fd() const;
    /// Takes every queued event (clears the fd).
    std::vector<event> drain();

    /// Sends an application message of type `msg_type` whose body (without header and
    /// trailer) is `body`: tag=value fields, each ended by SOH. `session` "" is the first
    /// configured session. QuickFIX fills the header and stores the message for resends, also
    /// while logged out (it goes out at the next logon only if the peer asks for a resend).
    /// Returns false with `error` set when the message does not parse or the session is
    /// unknown.
    bool send(const std::string& session, const std::string& msg_type, const std::string& body,
              std::string& error);
    /// The application messages this side sent in the session so far (since its sequence
    /// numbers were last reset), as FIX text, from QuickFIX's store: what a restarted client
    /// sent before it died. Call before start().
    std::vector<std::string> sent_messages(const std::string& session) const;
    /// Drops the TCP connection of `session` ("" = first) without a Logout.
    void disconnect(const std::string& session);
    bool logged_on(const std::string& session) const;
    /// The next sequence numbers: what this side sends next, what it expects next.
    std::uint64_t next_sender_seq(const std::string& session) const;
    std::uint64_t next_target_seq(const std::string& session) const;
    /// Events dropped because the queue was full (see max_queued).
    std::uint64_t dropped() const;

    class impl;

  private:
    std::unique_ptr<impl> impl_;
};

/// "SENDER->TARGET", the session name used in events and send().
std::string session_name(const std::string& sender, const std::string& target);

}  // namespace fix
}  // namespace tradebus
