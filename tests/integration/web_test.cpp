// The desk's web page (tradebus-web) in a real browser: the broker, the five trading nodes and
// the web node; headless Chromium opens the page once and the test reads its live DOM: every
// node healthy, fills rising across two loads, an operator's halt (`tradebus halt`) on the page
// within a second, a screenshot. Then what a hostile client can cost the node (oversized head,
// a request never finished, more clients than max_clients), and the executable's smoke checks.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli_runner.hpp"
#include "headless_browser.hpp"
#include "net.hpp"
#include "pipeline.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

// The five trading nodes' tables: a 100 quotes/s synthetic feed and a strategy that signals on
// every quote, so fills come every second; MSFT's small position limit makes rejections.
std::string own_table(const temp_dir& dir, const std::string& kind) {
    if (kind == "journal") {
        return "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n";
    }
    if (kind == "marketdata") {
        return "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
               "[marketdata.synthetic]\nrate_per_sec = 100.0\nseed = 7\n"
               "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"
               "[marketdata.synthetic.symbols.MSFT]\nstart_px = 417.0\n";
    }
    if (kind == "execution") return "[execution]\nslippage_bps = 1.0\npartial_fills = false\n";
    if (kind == "risk") {
        return "[risk]\nallowed_symbols = [\"AAPL\", \"MSFT\"]\nmax_order_qty = 100\n"
               "max_position = 300\nmax_gross_notional = 1000000.0\nmax_daily_loss = 100000.0\n"
               "max_orders_per_sec = 5\nprice_band_bps = 100.0\nstale_quote_ms = 2000\n"
               "position_interval_ms = 200\n[risk.symbols.MSFT]\nmax_position = 10\n";
    }
    return "[strategy]\ntrade_symbols = [\"AAPL\", \"MSFT\"]\nsignal_every_tick = true\n"
           "order_qty = 20\n";
}

// The shipped LVC prefixes (config/broker.toml), so a page opened late shows positions at once.
const std::string lvc_toml =
    "[lvc]\nprefixes = [\"md.tick.\", \"md.bar.\", \"risk.limits.\", \"risk.position.\"]\n";

std::string web_table(int port, int max_clients = 16) {
    return "[web]\nlisten = \"tcp://127.0.0.1:" + std::to_string(port) +
           "\"\nupdate_interval_ms = 200\nmax_clients = " + std::to_string(max_clients) + "\n";
}

// How many of the pipeline's nodes the page shows healthy, as a JS expression.
std::string healthy_nodes_js() {
    std::string names;
    for (const auto& k : pipeline_kinds) names += (names.empty() ? "'" : ",'") + k + "'";
    return "[" + names +
           "].filter(n => { const r = document.querySelector(`#nodes tr[data-node=\"${n}\"]`); "
           "return r && r.dataset.state === 'healthy'; }).length";
}

}  // namespace

TEST_CASE("web: headless Chromium shows five nodes healthy, fills rising and a halt at once") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, 200, false, lvc_toml);
    for (const auto& kind : pipeline_kinds) {
        p.configure(kind, own_table(dir, kind));
        p.start(kind);
    }
    const int port = free_tcp_port();
    p.configure("web", web_table(port));
    p.start("web");
    std::vector<std::string> all = pipeline_kinds;
    all.emplace_back("web");
    (void)p.wait_healthy(all, 30s);
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";

    headless_browser browser(dir);
    browser.open(url);
    // The page is live: the event stream's first state, then every node healthy.
    REQUIRE_MESSAGE(browser.wait_for("document.body.dataset.connected === 'true'", 15s),
                    "the page never got its first state; chromium:\n"
                        << browser.log());
    const std::string healthy = healthy_nodes_js();
    CHECK_MESSAGE(browser.wait_for(healthy + " === 5", 15s),
                  "healthy nodes on the page: " << browser.eval(healthy) << "\n"
                                                << browser.eval("document.body.innerText"));
    CHECK(browser.eval("document.querySelector('#recorder-state').dataset.state") == "flowing");
    CHECK(browser.eval("document.querySelector('#journal-state').dataset.state") == "healthy");

    // Fills: some on the first load, more on the second.
    const std::string fills = "Number(document.querySelector('#fills-total').textContent)";
    REQUIRE_MESSAGE(browser.wait_for(fills + " > 0", 20s), browser.eval("document.body.innerText"));
    const int first = std::stoi(browser.eval(fills));
    CHECK(browser.eval("document.querySelectorAll('#fills li').length") != "0");
    browser.open(url);
    REQUIRE(browser.wait_for("document.body.dataset.connected === 'true'", 15s));
    // A late page shows the positions at once: they are in its first state.
    CHECK(browser.eval("document.querySelectorAll('#positions tbody tr').length") != "0");
    CHECK_MESSAGE(browser.wait_for(fills + " > " + std::to_string(first), 20s),
                  "fills stayed at " << browser.eval(fills));
    CHECK(browser.eval("document.querySelectorAll('#topics tbody tr').length") != "0");
    CHECK(browser.wait_for("document.querySelector('#equity') !== null", 1s));

    // An operator's halt, as `tradebus halt` sends it: on the page within a second of the
    // broker's answer (the node pushes a trading change at once, not at the next interval).
    CHECK(browser.eval("document.querySelector('#trading-state').dataset.state") == "active");
    const auto r = run_cli(
        dir, "halt",
        {"halt", "--control", p.broker.control, "--reason", "web test", "--by", "tester@web"});
    REQUIRE(r.status == 0);
    const auto answered = std::chrono::steady_clock::now();
    const bool shown =
        browser.wait_for("document.querySelector('#trading-state').dataset.state === 'halted'", 5s);
    const auto took = std::chrono::steady_clock::now() - answered;
    REQUIRE(shown);
    CHECK_MESSAGE(took < 1s,
                  "the halt took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms to show");
    CHECK(browser.eval("document.querySelector('#desk-by').textContent") ==
          "by tester@web: web test");
    // A symbol scope appears in the list of scopes in force.
    const auto s = run_cli(dir, "halt-aapl",
                           {"halt", "--control", p.broker.control, "--symbol", "AAPL", "--reason",
                            "news", "--by", "tester@web"});
    REQUIRE(s.status == 0);
    CHECK(
        browser.wait_for("document.querySelector('#scopes li[data-scope=\"symbol AAPL\"]') "
                         "?.dataset.state === 'halted'",
                         5s));

    const auto png = dir.file("web.png");
    browser.screenshot(png, 1280, 1400);
    CHECK(std::filesystem::file_size(png) > 10'000);
    // TRADEBUS_WEB_SCREENSHOT=path keeps a copy (README's picture: docs/web-desk.png).
    if (const char* keep = std::getenv("TRADEBUS_WEB_SCREENSHOT"); keep != nullptr && *keep) {
        std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
    }
}

TEST_CASE("web: oversized heads, unfinished requests and too many clients are bounded") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir);
    const int port = free_tcp_port();
    p.configure("web", web_table(port, 3));
    p.start("web");
    (void)p.wait_healthy({"web"}, 30s);

    // A head above 8 KiB: 431, and the connection is closed.
    const std::string huge = "GET / HTTP/1.1\r\nX-Junk: " + std::string(20'000, 'a') + "\r\n\r\n";
    auto answer = tcp_exchange(port, huge);
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 431 "));
    // Not HTTP at all: 400.
    answer = tcp_exchange(port, "\x16\x03\x01 hello\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 400 "));
    answer = tcp_exchange(port, "POST /state HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 405 "));
    answer = tcp_exchange(port, "GET /state HTTP/1.0\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 200 "));
    CHECK(answer->find("\"nodes\":[") != std::string::npos);

    // Slowloris: a request head never finished gets 408 after the request timeout (5 s).
    tcp_client slow(port);
    REQUIRE(slow.connected());
    REQUIRE(slow.send("GET / HTTP/1.1\r\nX-Slow: 1\r\n"));
    const auto timed_out = slow.read_until_closed(15s);
    REQUIRE(timed_out);
    CHECK(timed_out->starts_with("HTTP/1.1 408 "));

    // max_clients = 3: three event streams hold every slot; a fourth client gets 503.
    std::vector<std::unique_ptr<tcp_client>> streams;
    for (int i = 0; i < 3; ++i) {
        streams.push_back(std::make_unique<tcp_client>(port));
        REQUIRE(streams.back()->connected());
        REQUIRE(streams.back()->send("GET /events HTTP/1.1\r\n\r\n"));
        const auto first = streams.back()->read_until(
            [](const std::string& got) { return got.find("event: state\n") != std::string::npos; },
            10s);
        REQUIRE(first);
        CHECK(first->find("Content-Type: text/event-stream") != std::string::npos);
    }
    answer = tcp_exchange(port, "GET /state HTTP/1.0\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 503 "));
    // A client that only connects takes the slot of nobody: it is refused too, and a stream
    // that goes away frees its slot.
    streams.pop_back();
    bool served = false;
    for (int i = 0; i < 100 && !served; ++i) {
        answer = tcp_exchange(port, "GET /state HTTP/1.0\r\n\r\n");
        served = answer && answer->starts_with("HTTP/1.1 200 ");
        if (!served) std::this_thread::sleep_for(50ms);
    }
    CHECK(served);
    CHECK(p.node("web").running());
}

TEST_CASE("web: a port already in use stops the web node with exit 1, saying where") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir);
    tcp_listener taken;
    p.configure("web", web_table(taken.port()));
    p.start("web");
    const auto status = p.node("web").wait_exit(20s);
    REQUIRE(status);
    CHECK(*status == 1);
    CHECK(p.node("web").log().find("cannot serve the web page at tcp://127.0.0.1:" +
                                   std::to_string(taken.port())) != std::string::npos);
}

TEST_CASE("web: tradebus-web --help, --version and --check-config") {
    temp_dir dir;
    const auto exe = node_executable("web");
    auto r = run_to_exit(exe, {"--help"}, dir.file("help.log"));
    CHECK(r.status == 0);
    CHECK(r.output.find("--check-config") != std::string::npos);
    r = run_to_exit(exe, {"--version"}, dir.file("version.log"));
    CHECK(r.status == 0);
    const std::string shipped = std::string(TRADEBUS_SOURCE_DIR) + "/config/nodes/web.toml";
    r = run_to_exit(exe, {"--config", shipped, "--check-config"}, dir.file("check.log"));
    CHECK(r.status == 0);
    const auto bad = dir.write("bad.toml",
                               "[node]\nkind = \"web\"\nname = \"web\"\n[web]\nlisten = "
                               "\"localhost\"\nmax_clients = 0\n");
    r = run_to_exit(exe, {"--config", bad.string(), "--check-config"}, dir.file("bad.log"));
    CHECK(r.status == 2);
    CHECK(r.output.find("bad.toml:5:10: web.listen: expected tcp://host:port") !=
          std::string::npos);
    CHECK(
        r.output.find("bad.toml:6:15: web.max_clients: expected an integer in [1, 1024], got 0") !=
        std::string::npos);
}
