// The journal's query endpoint (PROTOCOL.md "Journal query"): a ROUTER socket bound to
// [journal] query_endpoint, polled by the node runtime's loop (context::watch_socket), so the
// journal stays single-threaded: a query is answered between two batches of live events, after
// flushing the writer so that every record the journal has accepted is visible. The bound
// endpoint is announced to the broker as service "journal".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "tradebus/common/process.hpp"
#include "tradebus/journal/query.hpp"

namespace tradebus::journal {

class query_service {
  public:
    /// Called before each query is read: flush the writer. Returns false if it failed (the
    /// query is then answered with an error naming the problem).
    using flush_fn = std::function<bool(std::string& why)>;

    /// Binds `endpoint` (tcp://127.0.0.1:0 picks a free port). Throws zmq::error_t when it
    /// cannot be bound.
    query_service(zmq::context_t& ctx, const std::string& endpoint, std::string dir,
                  query_limits limits, flush_fn flush);

    /// The endpoint actually bound (the port resolved), to announce.
    [[nodiscard]] const std::string& endpoint() const noexcept { return bound_; }
    [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }

    /// Answers every request waiting on the socket (up to a small budget per call).
    void on_readable();

    [[nodiscard]] std::uint64_t answered() const noexcept { return answered_; }
    [[nodiscard]] std::uint64_t refused() const noexcept { return refused_; }

  private:
    /// The reply header (journal_query_ok or error) and records for one request frame.
    void answer(const std::string& request, std::string& header,
                std::vector<runtime::record_pair>& records);

    zmq::socket_t socket_;
    std::string bound_, dir_;
    query_limits limits_;
    flush_fn flush_;
    std::uint64_t answered_ = 0, refused_ = 0;
    common::rate_limited refused_log_;
};

}  // namespace tradebus::journal
