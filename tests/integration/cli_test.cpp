// The `tradebus` CLI as a process against a real tradebus-broker: sniff --json over a raw PUB,
// status --json and its text view, halt/resume through the control plane (seen on the bus by
// a sniffer started with the broker's --config), a broker that does not answer, Ctrl-C, and
// the --help/usage smoke checks. Output is parsed with a tiny JSON validator and substring
// checks on the wire keys.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS

#include <cctype>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "net.hpp"
#include "temp_dir.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

// RFC 8259 grammar check: enough to prove each line a script would feed to jq parses.
class json_checker {
  public:
    explicit json_checker(std::string_view s) : s_(s) {}
    bool valid() {
        skip_ws();
        if (!value(0)) return false;
        skip_ws();
        return i_ == s_.size();
    }

  private:
    bool value(int depth) {
        if (depth > 64 || i_ >= s_.size()) return false;
        const char c = s_[i_];
        if (c == '{' || c == '[') return container(depth, c == '{' ? '}' : ']');
        if (c == '"') return string();
        for (std::string_view w : {"true", "false", "null"}) {
            if (s_.substr(i_, w.size()) == w) return i_ += w.size(), true;
        }
        return number();
    }
    bool container(int depth, char close) {
        const bool object = s_[i_++] == '{';
        skip_ws();
        if (eat(close)) return true;
        do {
            skip_ws();
            if (object && (!string() || (skip_ws(), !eat(':')))) return false;
            skip_ws();
            if (!value(depth + 1)) return false;
            skip_ws();
        } while (eat(','));
        return eat(close);
    }
    bool string() {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c != '\\' || i_ >= s_.size()) continue;
            const char e = s_[i_++];
            if (e == 'u') {
                for (int k = 0; k < 4; ++k, ++i_) {
                    if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_])))
                        return false;
                }
            } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                return false;
            }
        }
        return false;
    }
    bool number() {
        const std::size_t start = i_;
        eat('-');
        if (!digits()) return false;
        if (eat('.') && !digits()) return false;
        if (eat('e') || eat('E')) {
            if (!eat('+')) eat('-');
            if (!digits()) return false;
        }
        return i_ > start;
    }
    bool digits() {
        const std::size_t start = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        return i_ > start;
    }
    bool eat(char c) { return i_ < s_.size() && s_[i_] == c ? (++i_, true) : false; }
    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    std::string_view s_;
    std::size_t i_ = 0;
};

bool valid_json(std::string_view s) { return json_checker(s).valid(); }
bool has(std::string_view text, std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// `tradebus <args>` as a process with stdout and stderr in separate files (through sh, so a
// note on stderr can never be mistaken for output).
struct cli_process {
    std::filesystem::path out, err;
    std::unique_ptr<process_guard> proc;

    cli_process(const temp_dir& dir, const std::string& name, std::vector<std::string> args)
        : out(dir.file(name + ".out")), err(dir.file(name + ".err")) {
        std::vector<std::string> sh{"-c", "exec \"$0\" \"$@\" 2>>'" + err.string() + "'",
                                    TRADEBUS_EXE_TRADEBUS};
        sh.insert(sh.end(), args.begin(), args.end());
        proc = std::make_unique<process_guard>("/bin/sh", sh, out);
    }
    [[nodiscard]] std::string stdout_text() const { return read_file(out); }
    [[nodiscard]] std::string stderr_text() const { return read_file(err); }
    // Waits for the exit (a guard against hangs, not a timing assertion); -1 if it did not.
    int wait(std::chrono::milliseconds limit = 20s) { return proc->wait_exit(limit).value_or(-1); }
};

struct cli_result {
    int status;
    std::string out, err;
};

cli_result run_cli(const temp_dir& dir, const std::string& name, std::vector<std::string> args) {
    cli_process p(dir, name, std::move(args));
    const int status = p.wait();
    return {status, p.stdout_text(), p.stderr_text()};
}

}  // namespace

TEST_CASE("cli: tradebus --help, --version and bad arguments") {
    temp_dir dir;
    auto r = run_cli(dir, "help", {"--help"});
    CHECK(r.status == 0);
    for (const char* cmd : {"sniff", "status", "halt", "resume", "journal"}) CHECK(has(r.out, cmd));
    r = run_cli(dir, "version", {"--version"});
    CHECK(r.status == 0);
    CHECK(has(r.out, "0."));
    r = run_cli(dir, "sniff-help", {"sniff", "--help"});
    CHECK(r.status == 0);
    CHECK(has(r.out, "--json"));
    r = run_cli(dir, "bad-count", {"sniff", "--count", "x"});
    CHECK(r.status == 2);
    CHECK(has(r.err, "--count: expected a whole number > 0 (at most 1e12), got \"x\""));
    CHECK(r.out.empty());
    r = run_cli(dir, "bad-pattern", {"sniff", "md.ti*"});
    CHECK(r.status == 2);
    CHECK(has(r.err, "pattern \"md.ti*\""));
}

TEST_CASE("cli: tradebus sniff --json --count N prints matching events from a raw PUB") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    publisher pub(ctx, broker.xsub);
    cli_process sniff(dir, "sniff",
                      {"sniff", "--json", "--count", "6", "--xpub", broker.xpub, "md.tick.*"});

    // The sniffer joins when it joins: publish until it has had its 6 (or the guard expires).
    std::uint64_t seq = 0;
    const auto guard = std::chrono::steady_clock::now() + 20s;
    while (sniff.proc->running() && std::chrono::steady_clock::now() < guard) {
        ++seq;
        pub.send("md.tick.AAPL", sample_tick("AAPL", seq));
        pub.send("md.bar.AAPL", sample_tick("AAPL", seq));     // another prefix: not subscribed
        pub.send("md.tick.AAPL.X", sample_tick("AAPL", seq));  // '*' is one token: filtered here
        if (seq % 2 == 0) pub.send("md.tick.BAD", "\xc1");     // not msgpack: flagged, shown
        std::this_thread::sleep_for(5ms);                      // pacing, not readiness
    }
    REQUIRE(sniff.wait() == 0);
    const auto out = sniff.stdout_text();
    CAPTURE(out);
    CAPTURE(sniff.stderr_text());
    const auto lines = lines_of(out);
    REQUIRE(lines.size() == 6);
    std::uint64_t last_seq = 0;
    for (const auto& line : lines) {
        CHECK(valid_json(line));
        if (has(line, R"({"topic":"md.tick.AAPL","v":1,"type":"tick","src":"test-md","seq":)")) {
            CHECK(has(line, R"("data":{"symbol":"AAPL","bid_px":10000000000,)"));
            const auto at = line.find("\"seq\":") + 6;
            const auto this_seq = std::stoull(line.substr(at));
            CHECK(this_seq > last_seq);
            last_seq = this_seq;
        } else {
            CHECK(line == R"({"topic":"md.tick.BAD","undecodable":"truncated or invalid msgpack",)"
                          R"("frames":2,"bytes":1,"hex":"c1","rx_ns":)" +
                              line.substr(line.find("\"rx_ns\":") + 8));
        }
    }
    CHECK(sniff.stderr_text().empty());
}

TEST_CASE("cli: tradebus status --json and the text view show the node table") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir,
                          {.pipeline_toml = "[pipeline.marketdata]\n[pipeline.risk]\n"
                                            "depends_on = [\"marketdata\"]\n"});
    control_client c(ctx, broker.control);
    schema::register_request reg;
    reg.name = "marketdata";
    reg.kind = "marketdata";
    reg.host = "it-host";
    reg.version = "test";
    reg.pid = 4242;
    const auto session = c.call<schema::register_reply>(reg).session_id;
    schema::heartbeat_request hb;
    hb.name = "marketdata";
    hb.session_id = session;
    hb.counters.published = 77;
    c.call<schema::heartbeat_reply>(hb);

    auto r = run_cli(dir, "status-json", {"status", "--json", "--control", broker.control});
    CHECK(r.status == 0);
    CAPTURE(r.out);
    CAPTURE(r.err);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    CHECK(valid_json(lines[0]));
    CHECK(lines[0].rfind(R"({"v":1,"type":"status_ok",)", 0) == 0);
    CHECK(has(lines[0], R"({"name":"marketdata","kind":"marketdata","host":"it-host",)"));
    CHECK(has(lines[0], R"("state":"healthy")"));
    CHECK(has(lines[0], R"("published":77,)"));
    CHECK(has(lines[0], R"("start_order":["marketdata","risk"])"));
    CHECK(has(lines[0], R"("trading_state":"active")"));

    r = run_cli(dir, "status-text", {"status", "--config", broker.config_path.string()});
    CHECK(r.status == 0);
    CAPTURE(r.out);
    CHECK(has(r.out, "broker "));
    CHECK(has(r.out, "trading: ACTIVE"));
    CHECK(has(r.out, "NODE"));
    CHECK(has(r.out, "marketdata  marketdata  it-host"));
    CHECK(has(r.out, "start order: marketdata -> risk"));
    CHECK(has(r.out, "sys.broker.started"));
    CHECK(has(r.out, "services:\nno services announced"));

    // A service a node announced shows with its node, state and endpoint.
    c.call<schema::ok_reply>(
        schema::announce_request{"marketdata", session, "journal", "tcp://127.0.0.1:45678"});
    r = run_cli(dir, "status-services", {"status", "--control", broker.control});
    CHECK(r.status == 0);
    CAPTURE(r.out);
    CHECK(has(r.out, "SERVICE  NODE        STATE    ENDPOINT"));
    CHECK(has(r.out, "journal  marketdata  healthy  tcp://127.0.0.1:45678"));
}

TEST_CASE("cli: tradebus halt/resume go through the control plane and onto the bus") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    // A sniffer on sys.trading, its endpoints from the broker's own TOML; it runs until Ctrl-C.
    cli_process sniff(dir, "sniff-trading",
                      {"sniff", "--json", "--config", broker.config_path.string(), "sys.trading"});

    // Halt until the sniffer has printed one (its subscription may arrive after the first).
    const auto guard = std::chrono::steady_clock::now() + 20s;
    int halts = 0;
    while (sniff.stdout_text().empty() && std::chrono::steady_clock::now() < guard) {
        const auto r = run_cli(
            dir, "halt-" + std::to_string(++halts),
            {"halt", "--control", broker.control, "--reason", "it test", "--by", "tester@it"});
        REQUIRE(r.status == 0);
        CHECK(has(r.out, "[by tester@it: it test]"));
    }
    const auto first = lines_of(sniff.stdout_text()).at(0);
    CAPTURE(first);
    CHECK(valid_json(first));
    CHECK(has(first, R"("topic":"sys.trading","v":1,"type":"trading_state","src":"broker",)"));
    CHECK(has(first, R"("data":{"state":"halted","reason":"it test","by":"tester@it"})"));
    CHECK(broker.status().trading == schema::trading_state::halted);

    auto r = run_cli(dir, "resume", {"resume", "--control", broker.control});
    CHECK(r.status == 0);
    CHECK(broker.status().trading == schema::trading_state::active);
    r = run_cli(dir, "status-after", {"status", "--control", broker.control, "--json"});
    CHECK(has(r.out, R"("trading_state":"active")"));

    // Ctrl-C ends the sniffer cleanly.
    sniff.proc->signal(SIGINT);
    CHECK(sniff.wait() == 0);
    CHECK(has(sniff.stdout_text(), R"("state":"active")"));
}

TEST_CASE("cli: a broker that does not answer gives a clear message and exit 1") {
    temp_dir dir;
    const auto nobody = free_tcp_endpoint();
    auto r = run_cli(dir, "status", {"status", "--control", nobody, "--timeout", "0.3"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no reply from the broker at " + nobody + " within 0.3s"));
    r = run_cli(dir, "halt", {"halt", "--control", nobody, "--timeout", "0.3"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "the trading state is unknown"));
}

#else
TEST_CASE("cli: tradebus integration tests need the tradebus executable in this build") {
    MESSAGE("the tradebus target is not part of this build; skipped");
}
#endif
