// The journal's query: paging through segments (next_index, done, bounds), filters (prefixes,
// since_ns, flagged records), and the query service answering over a real ZeroMQ socket with
// the record framing (header + [topic][body] pairs), including bad requests.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>
#include <zmq.hpp>

#include "scratch_dir.hpp"
#include "tradebus/broker/control_plane.hpp"
#include "tradebus/journal/query.hpp"
#include "tradebus/journal/query_service.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/runtime/record_frames.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::journal;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;

// 60 records over several small segments: i % 3 == 0 a fill, else a tick; record 10 a gap
// marker; record i received at t0 + i.
std::string write_journal(const scratch_dir& d) {
    writer_options o;
    o.dir = d.path().string();
    o.fsync = fsync_policy::none;
    o.segment_bytes = 4096;
    writer w(o);
    for (int i = 0; i < 60; ++i) {
        const std::string topic = i % 3 == 0 ? "exec.fill.AAPL" : "md.tick.AAPL";
        const std::string body(100, static_cast<char>('a' + i % 26));
        REQUIRE(w.append(topic, body + std::to_string(i), t0 + i, i == 10 ? 0x0002 : 0));
    }
    REQUIRE(w.segments_created() > 2);
    return o.dir;
}

schema::journal_query query(std::vector<std::string> prefixes, std::int64_t since,
                            std::uint64_t from, std::int64_t max) {
    return schema::journal_query{std::move(prefixes), since, from, max};
}

// The record numbers (suffix of each body) of a page.
std::vector<int> numbers(const query_page& p) {
    std::vector<int> out;
    for (const auto& r : p.records) out.push_back(std::stoi(r.body.substr(100)));
    return out;
}

// A tiny REQ client around query_service::on_readable: one request, its header and records.
struct query_client {
    explicit query_client(query_service& service) : svc(service), req(ctx, zmq::socket_type::req) {
        req.set(zmq::sockopt::linger, 0);
        req.connect(svc.endpoint());
    }
    // The decoded reply header and the record frames that followed it.
    std::pair<schema::control_message, std::vector<runtime::record_pair>> ask(
        const std::string& request) {
        req.send(zmq::buffer(request), zmq::send_flags::none);
        zmq::pollitem_t item{svc.socket().handle(), 0, ZMQ_POLLIN, 0};
        REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(5000)) == 1);
        svc.on_readable();
        zmq::pollitem_t back{req.handle(), 0, ZMQ_POLLIN, 0};
        REQUIRE(zmq::poll(&back, 1, std::chrono::milliseconds(5000)) == 1);
        std::string why;
        auto reply = runtime::receive_records(req, why);
        REQUIRE_MESSAGE(reply, why);
        auto header = schema::decode_control(reply->header);
        REQUIRE(header);
        return {header.value(), reply->records};
    }
    // The error code of the reply to `request` ("" when the reply is not an error).
    std::string code_of(const std::string& request) {
        const auto header = ask(request).first;
        const auto* e = std::get_if<schema::error_reply>(&header);
        return e == nullptr ? std::string() : e->code;
    }
    query_service& svc;
    zmq::context_t ctx;
    zmq::socket_t req;
};
}  // namespace

TEST_CASE("journal query: pages through every segment in order and says when it is done") {
    scratch_dir d("jq");
    const auto dir = write_journal(d);
    std::vector<int> all;
    std::uint64_t from = 0;
    int pages = 0;
    for (;;) {
        const auto page = read_page(dir, query({}, 0, from, 7), query_limits{});
        CHECK(page.records.size() <= 7);
        for (int n : numbers(page)) all.push_back(n);
        CHECK(page.next_index >= from);
        from = page.next_index;
        ++pages;
        REQUIRE(pages < 20);
        if (page.done) break;
    }
    std::vector<int> expected;
    for (int i = 0; i < 60; ++i) {
        if (i != 10) expected.push_back(i);  // the gap marker is not an event
    }
    CHECK(all == expected);
    CHECK(from == 60);
    // Asking again from the end: nothing, done, same index.
    const auto tail = read_page(dir, query({}, 0, 60, 7), query_limits{});
    CHECK(tail.records.empty());
    CHECK(tail.done);
    CHECK(tail.next_index == 60);
}

TEST_CASE("journal query: prefixes, since_ns and the journal's own bounds filter a page") {
    scratch_dir d("jq");
    const auto dir = write_journal(d);
    const auto fills = read_page(dir, query({"exec.fill."}, t0 + 30, 0, 1000), query_limits{});
    CHECK(fills.done);
    CHECK(numbers(fills) == std::vector<int>{30, 33, 36, 39, 42, 45, 48, 51, 54, 57});
    for (const auto& r : fills.records) CHECK(r.topic == "exec.fill.AAPL");

    // The journal caps the page below what the client asked for.
    query_limits capped;
    capped.max_records = 4;
    const auto page = read_page(dir, query({"exec.fill."}, 0, 0, 1000), capped);
    CHECK(numbers(page) == std::vector<int>{0, 3, 6, 9});
    CHECK_FALSE(page.done);
    CHECK(page.next_index == 10);  // record 10 was not looked at: the next page starts there
    // A scan bound ends a page even when nothing matched.
    query_limits scan;
    scan.max_scanned = 5;
    const auto none = read_page(dir, query({"risk."}, 0, 0, 1000), scan);
    CHECK(none.records.empty());
    CHECK_FALSE(none.done);
    CHECK(none.next_index == 5);
    // A byte bound: at least one record per page, never more than the bound after that.
    query_limits bytes;
    bytes.max_bytes = 250;
    CHECK(read_page(dir, query({}, 0, 0, 1000), bytes).records.size() == 2);

    CHECK(check_query(query({}, 0, 0, 0)).find("max_records") != std::string::npos);
    CHECK(check_query(query({std::string(300, 'x')}, 0, 0, 1)).find("prefixes") !=
          std::string::npos);
    CHECK(check_query(query({"exec."}, 0, 0, 1)).empty());
}

TEST_CASE("journal query: the service answers over ZeroMQ with header and record frames") {
    spdlog::set_level(spdlog::level::off);
    scratch_dir d("jq");
    const auto dir = write_journal(d);
    zmq::context_t ctx;
    int flushes = 0;
    query_service svc(ctx, "tcp://127.0.0.1:*", dir, query_limits{}, [&](std::string&) {
        ++flushes;
        return true;
    });
    CHECK(svc.endpoint().starts_with("tcp://127.0.0.1:"));
    query_client client(svc);
    const auto ask = [&](const std::string& request) { return client.ask(request); };

    std::string bytes;
    schema::encode_control(query({"exec.fill."}, 0, 0, 3), bytes);
    auto [header, records] = ask(bytes);
    const auto* ok = std::get_if<schema::journal_query_reply>(&header);
    REQUIRE(ok != nullptr);
    CHECK(ok->count == 3);
    CHECK_FALSE(ok->done);
    REQUIRE(records.size() == 3);
    CHECK(records[1].topic == "exec.fill.AAPL");
    CHECK(records[1].body == std::string(100, 'd') + "3");  // raw bytes as journaled
    CHECK(flushes == 1);

    // Not a journal_query, and not msgpack at all: error replies, the service goes on.
    schema::encode_control(schema::lookup_request{"journal"}, bytes);
    auto [wrong, none] = ask(bytes);
    REQUIRE(std::holds_alternative<schema::error_reply>(wrong));
    CHECK(std::get<schema::error_reply>(wrong).code == schema::error_code::not_allowed);
    CHECK(none.empty());
    auto [garbage, none2] = ask("\xc1\xc1 not msgpack");
    CHECK(std::get<schema::error_reply>(garbage).code == schema::error_code::bad_request);
    CHECK(svc.refused() == 2);
    CHECK(svc.answered() == 1);
}

namespace {

class no_events : public broker::event_sink {
  public:
    void publish(std::string_view, const schema::payload&) override {}
};

// The broker's control plane (no sockets) for the same bytes.
std::string broker_code_of(const std::string& request) {
    const auto cfg = broker::parse_config("[heartbeat]\ninterval_ms = 100\n", "test.toml");
    no_events sink;
    broker::data_stats stats(100);
    broker::control_plane cp(cfg, 77, sink, stats, 0);
    std::string reply;
    cp.handle_frame(request, 0, reply);
    auto decoded = schema::decode_control(reply);
    REQUIRE(decoded);
    const auto* e = std::get_if<schema::error_reply>(&decoded.value());
    return e == nullptr ? std::string() : e->code;
}
}  // namespace

TEST_CASE("journal query: error codes are the broker control plane's for the same failures") {
    spdlog::set_level(spdlog::level::off);
    scratch_dir d("jq-codes");
    const auto dir = write_journal(d);
    zmq::context_t ctx;
    query_service svc(ctx, "tcp://127.0.0.1:*", dir, query_limits{},
                      [](std::string&) { return true; });
    query_client client(svc);
    namespace code = schema::error_code;

    std::string query_bytes;
    schema::encode_control(query({"exec.fill."}, 0, 0, 3), query_bytes);
    std::string bad_version = query_bytes;
    REQUIRE(bad_version.substr(1, 3) == "\xa1v\x01");
    bad_version[3] = 9;  // {"v": 9, ...}
    std::string reply_as_request;
    schema::encode_control(schema::journal_query_reply{1, 2, true}, reply_as_request);

    struct row {
        std::string what;
        std::string request;
        std::string_view code;
    };
    const row shared[] = {
        {"not msgpack", "\xc1\xc1 not msgpack", code::bad_request},
        {"unknown type", std::string("\x82\xa1v\x01\xa4type\xa3zap", 13), code::unknown_type},
        {"v = 9", bad_version, code::unsupported_version},
        {"no v", std::string("\x81\xa4type\xa3zap", 10), code::unsupported_version},
        {"type not a str", std::string("\x82\xa1v\x01\xa4type\x07", 10), code::bad_request},
        {"a reply sent as a request", reply_as_request, code::bad_request},
    };
    for (const auto& r : shared) {
        CAPTURE(r.what);
        CHECK(client.code_of(r.request) == r.code);
        CHECK(broker_code_of(r.request) == r.code);
    }
    // A request for the other endpoint is not_allowed at either.
    std::string lookup;
    schema::encode_control(schema::lookup_request{"journal"}, lookup);
    CHECK(client.code_of(lookup) == code::not_allowed);
    CHECK(broker_code_of(query_bytes) == code::not_allowed);
    // And the service still answers a good query.
    CHECK(client.code_of(query_bytes).empty());
    CHECK(svc.answered() == 1);
}
