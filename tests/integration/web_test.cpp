// The desk's web page (tradebus-web) in a real browser: the broker, the five trading nodes and
// the web node; headless Chromium opens the page once and the test reads its live DOM: every
// node healthy, fills rising across two loads, an operator's halt (`tradebus halt`) on the page
// within a second, a screenshot. Operator actions: a halt and a resume clicked on the page with
// an operator's token, then cancel and flatten POSTed as a script would, each answered by the
// broker and execution and journaled with the operator's name, and every way a request without
// the right token or form is refused. Then what a hostile client can cost the node (oversized
// head, a request never finished, more clients than max_clients), and the executable's smoke
// checks.
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

// An operator action as a script sends it (curl -H 'Authorization: Bearer ...' --data ...).
std::string post(const std::string& path, const std::string& token, const std::string& form,
                 const std::string& type = "application/x-www-form-urlencoded") {
    return "POST " + path + " HTTP/1.1\r\nHost: desk\r\n" +
           (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
           "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(form.size()) +
           "\r\n\r\n" + form;
}

// The five trading nodes, then the web node with `web_toml`; returns once all six are healthy.
void start_desk(pipeline& p, const temp_dir& dir, const std::string& web_toml) {
    for (const auto& kind : pipeline_kinds) {
        p.configure(kind, own_table(dir, kind));
        p.start(kind);
    }
    p.configure("web", web_toml);
    p.start("web");
    std::vector<std::string> all = pipeline_kinds;
    all.emplace_back("web");
    (void)p.wait_healthy(all, 30s);
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
    const int port = free_tcp_port();
    start_desk(p, dir, web_table(port));
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

TEST_CASE("web: operator actions from the page: halt, resume, cancel, flatten, journaled by name") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, 200, false, lvc_toml);
    const std::string token = "alice-0123456789abcdefghijklmnop";
    const auto tokens = dir.write("web-tokens", "# who may act from the page\nalice " + token +
                                                    "\nbob bob-0123456789abcdefghijklmnopq\n");
    std::filesystem::permissions(
        tokens, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const int port = free_tcp_port();
    start_desk(p, dir,
               web_table(port) + "actions = true\ntokens_file = \"" + tokens.string() + "\"\n");
    CHECK(log_shows(p.node("web"), "operator actions are ON: 2 operator(s)", 5s));

    headless_browser browser(dir);
    browser.open("http://127.0.0.1:" + std::to_string(port) + "/");
    REQUIRE_MESSAGE(browser.wait_for("!document.querySelector('#operator-panel').hidden", 15s),
                    browser.eval("document.body.innerText"));
    const auto click = [&](const std::string& action) {
        const std::string button =
            "document.querySelector('#action-form button[data-action=\"" + action + "\"]')";
        (void)browser.eval(button + ".click()");
        CHECK(browser.eval(button + ".dataset.armed") == "true");  // the first click arms it
        (void)browser.eval(button + ".click()");
    };
    // Without a token the page sends nothing and says so.
    click("halt");
    CHECK(browser.eval("document.querySelector('#action-result').textContent") ==
          "enter your operator token first");
    CHECK(browser.eval("document.querySelector('#trading-state').dataset.state") == "active");

    // alice halts the desk from the page: in force, shown with her name, in the page's log.
    (void)browser.eval("document.querySelector('#op-token').value = '" + token + "'");
    (void)browser.eval("document.querySelector('#op-reason').value = 'page halt'");
    click("halt");
    REQUIRE_MESSAGE(
        browser.wait_for("document.querySelector('#trading-state').dataset.state === 'halted'", 5s),
        browser.eval("document.querySelector('#action-result').textContent"));
    CHECK(browser.wait_for(
        "document.querySelector('#desk-by').textContent === 'by alice via web: page halt'", 5s));
    CHECK(
        browser.wait_for("document.querySelector('#action-log li[data-status=\"done\"]')"
                         "?.textContent.includes('alice via web: halt the desk') === true",
                         5s));
    CHECK(browser.wait_for(
        "document.querySelector('#action-result').textContent.startsWith('halt the desk: DONE')",
        5s));
    // ... and resumes it.
    (void)browser.eval("document.querySelector('#op-reason').value = 'page resume'");
    click("resume");
    CHECK(browser.wait_for("document.querySelector('#trading-state').dataset.state === 'active'",
                           5s));
    // A symbol scope, reduce-only: the scope appears in the list.
    (void)browser.eval("document.querySelector('#op-scope').value = 'symbol'");
    (void)browser.eval("document.querySelector('#op-target').value = 'MSFT'");
    click("reduce");
    CHECK(
        browser.wait_for("document.querySelector('#scopes li[data-scope=\"symbol MSFT\"]')"
                         "?.dataset.state === 'reducing'",
                         5s));

    // Refused before anything is sent: no token, a wrong one, a GET, a body that is not a form,
    // an unknown field, an unknown action.
    const auto ask = [&](const std::string& request) {
        const auto a = http_exchange(port, request, 10s);
        REQUIRE(a);
        return *a;
    };
    CHECK(ask(post("/actions/halt", "", "")).starts_with("HTTP/1.1 401 "));
    const auto wrong = ask(post("/actions/halt", "alice-0123456789abcdefghijklmnoX", ""));
    CHECK(wrong.starts_with("HTTP/1.1 401 "));
    CHECK(wrong.find("WWW-Authenticate: Bearer") != std::string::npos);
    CHECK(ask("GET /actions/halt HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
    CHECK(ask(post("/actions/halt", token, "{\"a\":1}", "application/json"))
              .starts_with("HTTP/1.1 415 "));
    const auto unknown_field = ask(post("/actions/halt", token, "symbol=AAPL&size=1"));
    CHECK(unknown_field.starts_with("HTTP/1.1 400 "));
    CHECK(unknown_field.find("expected the fields symbol, strategy, reason, reduce_only") !=
          std::string::npos);
    CHECK(ask(post("/actions/liquidate", token, "")).starts_with("HTTP/1.1 404 "));
    // The broker's own scope rule: a malformed symbol is refused, and nothing changes.
    const auto bad_scope = ask(post("/actions/halt", token, "symbol=not+a+symbol"));
    CHECK(bad_scope.starts_with("HTTP/1.1 400 "));
    CHECK(bad_scope.find("\"status\":\"refused\"") != std::string::npos);
    CHECK(bad_scope.find("bad_request") != std::string::npos);

    // Cancel and flatten as a script sends them: accepted by the broker, then done when
    // execution (and risk) answer on the bus.
    const auto cancel = ask(post("/actions/cancel", token, "all=1&reason=script+cancel"));
    CHECK(cancel.starts_with("HTTP/1.1 200 "));
    CHECK(cancel.find("\"what\":\"cancel every order\",") != std::string::npos);
    // accepted, or done already when execution's answer came before the broker's reply
    CHECK((cancel.find("\"status\":\"accepted\"") != std::string::npos ||
           cancel.find("\"status\":\"done\"") != std::string::npos));
    const auto flatten = ask(post("/actions/flatten", "bob-0123456789abcdefghijklmnopq",
                                  "symbol=AAPL&reason=script+flatten"));
    CHECK(flatten.starts_with("HTTP/1.1 200 "));
    const auto ended = [&](const std::string& what) {
        return "[...document.querySelectorAll('#action-log li[data-status=\"done\"]')]"
               ".some(li => li.textContent.includes('" +
               what + "'))";
    };
    CHECK_MESSAGE(browser.wait_for(ended("alice via web: cancel every order"), 10s),
                  browser.eval("document.querySelector('#action-log').innerText"));
    CHECK_MESSAGE(browser.wait_for(ended("bob via web: flatten AAPL"), 10s),
                  browser.eval("document.querySelector('#action-log').innerText"));

    // The journal has who did each: the broker published them with by = "<name> via web".
    const auto journaled = [](const std::string& t) {
        for (const char* want : {"alice via web", "page halt", "page resume", "script cancel",
                                 "bob via web", "script flatten"}) {
            if (t.find(want) == std::string::npos) return false;
        }
        return true;
    };
    std::string text;
    for (int i = 0; i < 100 && !journaled(text); ++i) {
        if (i > 0) std::this_thread::sleep_for(100ms);
        text = run_cli(dir, "jcat",
                       {"journal", "cat", "--json", "--dir", p.journal_dir.string(), "sys.trading",
                        "sys.cancel", "sys.flatten"})
                   .out;
    }
    CHECK_MESSAGE(journaled(text), text);
}

TEST_CASE("web: actions are off by default, and a tokens file others can read is refused") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir);
    const int port = free_tcp_port();
    p.configure("web", web_table(port));
    p.start("web");
    (void)p.wait_healthy({"web"}, 30s);
    const auto off = http_exchange(port, post("/actions/halt", "whatever-token-0123456789", ""));
    REQUIRE(off);
    CHECK(off->starts_with("HTTP/1.1 403 "));
    CHECK(off->find("operator actions are off") != std::string::npos);
    const auto state = http_exchange(port, "GET /state HTTP/1.1\r\n\r\n");
    REQUIRE(state);
    CHECK(state->find("\"trading\":{\"state\":\"active\"") != std::string::npos);
    CHECK(state->find("\"actions\":{\"enabled\":false,\"log\":[]}") != std::string::npos);

    const auto tokens = dir.write("open-tokens", "alice alice-0123456789abcdefghijklmnop\n");
    std::filesystem::permissions(tokens, std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
    const auto cfg = dir.write("web.toml",
                               "[node]\nkind = \"web\"\nname = \"web\"\n[web]\n"
                               "actions = true\ntokens_file = \"" +
                                   tokens.string() + "\"\n");
    const auto r = run_to_exit(node_executable("web"), {"--config", cfg.string(), "--check-config"},
                               dir.file("check.log"));
    CHECK(r.status == 2);
    CHECK_MESSAGE(r.output.find("web.tokens_file: " + tokens.string() +
                                ": other users may read or write it") != std::string::npos,
                  r.output);
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
    // A body above 4 KiB, or one without a length: refused before it is read.
    answer = tcp_exchange(port, "POST /actions/halt HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 413 "));
    answer =
        tcp_exchange(port, "POST /actions/halt HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    REQUIRE(answer);
    CHECK(answer->starts_with("HTTP/1.1 400 "));
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
