// tradebus-bench-hostile: the hostile peers of issue 14 against a running broker, with the
// figures the issue asks for (bench/hostile.sh starts a broker and the pipeline and runs each).
// Not run by CI. Every part prints one line of figures:
//   churn      rounds of a SUB subscribing N distinct topics and leaving; RSS of given pids
//   register   a flood of large registrations; the broker's RSS before and after
//   topics     one publisher inventing N topics, then control round trips while scraping
//   slowhttp   N clients dribbling a byte a second, then M scrapes
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "tradebus/schema/codec.hpp"

namespace {

namespace schema = tradebus::schema;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double rss_mb(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    }
    return -1;
}

int tcp_connect(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One scrape: the whole answer (head + Content-Length bytes), or "" on failure/timeout.
std::string scrape(int port, std::chrono::milliseconds timeout = 10s) {
    const int fd = tcp_connect(port);
    if (fd < 0) return "";
    const std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
    (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got;
    const auto deadline = clock_type::now() + timeout;
    char buf[65536];
    std::size_t want = std::string::npos;  // head + Content-Length, once the head is in
    while (clock_type::now() < deadline && got.size() < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
        if (want == std::string::npos) {
            const auto end = got.find("\r\n\r\n");
            const auto cl = got.find("Content-Length: ");
            if (end != std::string::npos && cl != std::string::npos && cl < end) {
                want = end + 4 + std::stoul(got.substr(cl + 16));
            }
        }
    }
    ::close(fd);
    const auto end = got.find("\r\n\r\n");
    const auto cl = got.find("Content-Length: ");
    if (got.rfind("HTTP/1.0 200", 0) != 0 || end == std::string::npos || cl == std::string::npos ||
        got.size() - (end + 4) != std::stoul(got.substr(cl + 16))) {
        return "";
    }
    return got;
}

double metric(int port, const std::string& name) {
    const std::string s = scrape(port);
    const auto at = s.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(s.substr(at + name.size() + 2));
}

std::string arg(int argc, char** argv, const std::string& key, const std::string& dflt) {
    for (int i = 2; i + 1 < argc; ++i) {
        if (argv[i] == "--" + key) return argv[i + 1];
    }
    return dflt;
}

// The round trip of one control request (a lookup: small, handled in the loop), in ms.
double control_rtt(zmq::socket_t& req, const std::string& request) {
    const auto t0 = clock_type::now();
    (void)req.send(zmq::buffer(request), zmq::send_flags::none);
    zmq::message_t reply;
    (void)req.recv(reply);
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

int churn(int argc, char** argv) {
    zmq::context_t ctx;
    const std::string xpub = arg(argc, argv, "xpub", "tcp://127.0.0.1:5551");
    const int topics = std::stoi(arg(argc, argv, "topics", "200000"));
    const int rounds = std::stoi(arg(argc, argv, "rounds", "8"));
    const int port = std::stoi(arg(argc, argv, "metrics-port", "9464"));
    std::vector<std::pair<std::string, long>> pids;
    const std::string list = arg(argc, argv, "pids", "");  // name=pid,name=pid
    for (std::size_t at = 0; at < list.size();) {
        const auto comma = list.find(',', at);
        const std::string item = list.substr(at, comma - at);
        const auto eq = item.find('=');
        pids.emplace_back(item.substr(0, eq), std::stol(item.substr(eq + 1)));
        at = comma == std::string::npos ? list.size() : comma + 1;
    }
    const auto show = [&](const std::string& when) {
        std::cout << when;
        for (const auto& [name, pid] : pids) std::printf(" %s=%.1fMB", name.c_str(), rss_mb(pid));
        std::cout << std::endl;
    };
    show("churn before:");
    for (int r = 1; r <= rounds; ++r) {
        const double subs0 = metric(port, "tradebus_subscriptions_total");
        const double unsubs0 = metric(port, "tradebus_unsubscriptions_total");
        {
            zmq::socket_t sub(ctx, zmq::socket_type::sub);
            sub.set(zmq::sockopt::linger, 0);
            sub.set(zmq::sockopt::sndhwm, 0);
            sub.connect(xpub);
            for (int i = 0; i < topics; ++i) {
                sub.set(zmq::sockopt::subscribe,
                        "bench.churn.r" + std::to_string(r) + ".t" + std::to_string(i));
            }
            // Until the broker has seen them all (passed or refused) and stopped growing.
            double last = -1, now = 0;
            for (int i = 0; i < 600 && now != last; ++i) {
                std::this_thread::sleep_for(500ms);
                last = now;
                now =
                    metric(port, "tradebus_subscriptions_total") +
                    metric(port, "tradebus_messages_dropped_total{reason=\"subscription_limit\"}");
            }
        }
        double passed = metric(port, "tradebus_subscriptions_total") - subs0, taken = 0;
        for (int i = 0; i < 600 && taken < passed; ++i) {
            std::this_thread::sleep_for(500ms);
            taken = metric(port, "tradebus_unsubscriptions_total") - unsubs0;
        }
        std::this_thread::sleep_for(3s);  // publishers read what was passed
        std::printf("churn round %d: passed %.0f subscribes, %.0f unsubscribes;", r, passed, taken);
        show("");
    }
    return 0;
}

int register_flood(int argc, char** argv) {
    zmq::context_t ctx;
    const std::string control = arg(argc, argv, "control", "tcp://127.0.0.1:5552");
    const int count = std::stoi(arg(argc, argv, "count", "1017"));
    const std::size_t bytes = std::stoul(arg(argc, argv, "bytes", "1000000"));
    const long broker = std::stol(arg(argc, argv, "broker-pid", "0"));
    std::printf("register before: broker=%.1fMB\n", rss_mb(broker));
    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, 5000);
    req.connect(control);
    std::map<std::string, int> codes;
    std::string frame;
    for (int i = 0; i < count; ++i) {
        schema::register_request r;
        r.name = "flood" + std::to_string(i);
        r.kind = "flood";
        r.host = "bench";
        r.version = "1";
        r.pid = 1;
        r.heartbeat_interval_ms = 60'000;
        // ~bytes of prefixes in all, as the decoder allows (4096 items of <= 4096 bytes).
        const std::size_t n = std::min<std::size_t>(4096, bytes / 250 + 1);
        r.publishes.assign(n, std::string(std::min<std::size_t>(250, bytes / n), 'p'));
        schema::encode_control(schema::control_message{r}, frame);
        (void)req.send(zmq::buffer(frame), zmq::send_flags::none);
        zmq::message_t reply;
        if (!req.recv(reply)) return 1;
        auto decoded = schema::decode_control(reply.to_string_view());
        std::string code = "undecodable";
        if (decoded) {
            if (auto* e = std::get_if<schema::error_reply>(&decoded.value())) {
                code = e->code;
            } else {
                code = std::string(schema::type_name(decoded.value()));
            }
        }
        ++codes[code];
    }
    std::this_thread::sleep_for(1s);
    std::printf("register after %d registrations of ~%zu bytes: broker=%.1fMB;", count, bytes,
                rss_mb(broker));
    for (const auto& [code, n] : codes) std::printf(" %s=%d", code.c_str(), n);
    std::printf("\n");
    return 0;
}

int topics(int argc, char** argv) {
    zmq::context_t ctx;
    const std::string xsub = arg(argc, argv, "xsub", "tcp://127.0.0.1:5550");
    const std::string control = arg(argc, argv, "control", "tcp://127.0.0.1:5552");
    const int n = std::stoi(arg(argc, argv, "topics", "200000"));
    const int port = std::stoi(arg(argc, argv, "metrics-port", "9464"));
    // A subscriber to everything under bench.topic., so the publisher sends.
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "bench.topic.");
    sub.connect(arg(argc, argv, "xpub", "tcp://127.0.0.1:5551"));
    zmq::socket_t pub(ctx, zmq::socket_type::pub);
    pub.set(zmq::sockopt::linger, 1000);
    pub.set(zmq::sockopt::sndhwm, 0);
    pub.connect(xsub);
    std::this_thread::sleep_for(1s);
    const std::string body = "x";  // not decoded by the broker; counted per topic
    for (int i = 0; i < n; ++i) {
        const std::string t = "bench.topic.t" + std::to_string(i);
        (void)pub.send(zmq::buffer(t), zmq::send_flags::sndmore);
        (void)pub.send(zmq::buffer(body), zmq::send_flags::none);
        if (i % 20000 == 0) std::this_thread::sleep_for(20ms);
    }
    for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(200ms);
        if (metric(port, "tradebus_topics_tracked") >= std::min(n, 100'000) - 10) break;
    }
    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.connect(control);
    std::string lookup;
    schema::encode_control(schema::control_message{schema::lookup_request{"nothing"}}, lookup);
    double idle_max = 0;
    for (int i = 0; i < 200; ++i) idle_max = std::max(idle_max, control_rtt(req, lookup));
    // Scrapes in a thread while this one measures round trips.
    std::atomic<bool> done{false};
    std::size_t scrape_bytes = 0;
    int scrapes_ok = 0;
    double scrape_s = 0;
    std::thread scraper([&] {
        const auto t0 = clock_type::now();
        for (int i = 0; i < 5; ++i) {
            const std::string s = scrape(port, 30s);
            if (!s.empty()) {
                ++scrapes_ok;
                scrape_bytes = s.size();
            }
        }
        scrape_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        done = true;
    });
    double busy_max = 0;
    std::vector<double> rtts;
    while (!done) {
        rtts.push_back(control_rtt(req, lookup));
        busy_max = std::max(busy_max, rtts.back());
    }
    scraper.join();
    std::sort(rtts.begin(), rtts.end());
    const auto pct = [&](double q) {
        return rtts.empty()
                   ? 0.0
                   : rtts[static_cast<std::size_t>(q * static_cast<double>(rtts.size() - 1))];
    };
    std::printf(
        "topics %d: tracked %.0f, scrape %zu bytes, %d/5 scrapes ok in %.1f s; control round "
        "trip idle max %.2f ms; during scrapes p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms (%zu "
        "round trips)\n",
        n, metric(port, "tradebus_topics_tracked"), scrape_bytes, scrapes_ok, scrape_s, idle_max,
        pct(0.5), pct(0.99), pct(0.999), busy_max, rtts.size());
    return 0;
}

int slow_http(int argc, char** argv) {
    const int port = std::stoi(arg(argc, argv, "metrics-port", "9464"));
    const int clients = std::stoi(arg(argc, argv, "clients", "50"));
    const int scrapes = std::stoi(arg(argc, argv, "scrapes", "10"));
    std::vector<int> fds;
    for (int i = 0; i < clients; ++i) {
        const int fd = tcp_connect(port);
        if (fd >= 0) {
            (void)::send(fd, "G", 1, MSG_NOSIGNAL);
            fds.push_back(fd);
        }
    }
    int ok = 0;
    double slowest = 0;
    for (int i = 0; i < scrapes; ++i) {
        for (const int fd : fds) (void)::send(fd, "E", 1, MSG_NOSIGNAL);  // dribble
        const auto t0 = clock_type::now();
        if (!scrape(port, 30s).empty()) ++ok;
        slowest = std::max(slowest, std::chrono::duration<double>(clock_type::now() - t0).count());
        std::this_thread::sleep_for(1s);
    }
    std::printf(
        "slowhttp: %d slow clients connected, %d/%d scrapes complete 200 (slowest %.2f s)\n",
        static_cast<int>(fds.size()), ok, scrapes, slowest);
    for (const int fd : fds) ::close(fd);
    return ok == scrapes ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string part = argc > 1 ? argv[1] : "";
    try {
        if (part == "churn") return churn(argc, argv);
        if (part == "register") return register_flood(argc, argv);
        if (part == "topics") return topics(argc, argv);
        if (part == "slowhttp") return slow_http(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "tradebus-bench-hostile " << part << ": " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: tradebus-bench-hostile churn|register|topics|slowhttp [--key value...]\n";
    return 2;
}
