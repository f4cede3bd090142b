#include "peers.hpp"

#include <hiredis.h>
#include <nats/nats.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "stream.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/transport.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace {

using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

// The body of a probe message: not an event, so no subscriber can take it for one.
constexpr std::string_view probe_body = "probe";

// The nodes' default high-water marks (node config [data] sndhwm/rcvhwm).
constexpr std::int64_t node_hwm = 100'000;

// ------------------------------------------------------------------ tradebus

// A node's data plane: the runtime's zmq_transport, in its own context with one I/O thread (a
// node process has its own), waited on as the node loop waits (poll its inbound socket, then
// drain with a budget).
class tradebus_client final : public peer_client, private runtime::transport_sink {
  public:
    explicit tradebus_client(const bus_target& broker)
        : transport_(ctx_, runtime::zmq_transport::options{node_hwm, node_hwm}) {
        (void)transport_.connect(broker.xsub(), broker.xpub());
    }
    void subscribe(const std::string& subject) override { transport_.subscribe(subject); }
    void publish(const std::string& subject, std::string_view body) override {
        if (!transport_.send(subject, body)) errors_.fetch_add(1);
    }
    void flush() override {}
    void settle() override {}
    std::size_t receive(const handler& on, std::chrono::milliseconds timeout,
                        std::size_t budget) override {
        zmq_pollitem_t item{transport_.inbound_socket().handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, timeout) <= 0) return 0;
        on_ = &on;
        return transport_.drain(*this, budget);
    }
    [[nodiscard]] std::uint64_t errors() const override { return errors_.load(); }

  private:
    void on_message(std::string_view topic, std::string_view raw) override { (*on_)(topic, raw); }
    void on_malformed(std::string_view, std::string_view, const std::string&, bool) override {
        errors_.fetch_add(1);
    }
    bool on_link_position(std::uint64_t, std::uint64_t) override { return true; }

    zmq::context_t ctx_{1};
    runtime::zmq_transport transport_;
    const handler* on_ = nullptr;
    std::atomic<std::uint64_t> errors_{0};
};

class tradebus_server final : public peer_server {
  public:
    explicit tradebus_server(bus_target& broker) : broker_(broker) {}
    [[nodiscard]] std::string_view name() const override { return "tradebus"; }
    [[nodiscard]] std::string version() const override {
        int major = 0, minor = 0, patch = 0;
        zmq_version(&major, &minor, &patch);
        return "tradebus-broker " + std::string(common::version()) + ", libzmq " +
               std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    }
    [[nodiscard]] std::string clients() const override {
        return "runtime::zmq_transport (send; poll + drain, budget 1024), own context per client";
    }
    [[nodiscard]] pid_t pid() const override { return broker_.pid(); }
    std::unique_ptr<peer_client> connect(bool) override {
        return std::make_unique<tradebus_client>(broker_);
    }
    void check_alive() override { broker_.check_alive(); }
    int stop() override { return broker_.stop(); }

  private:
    bus_target& broker_;
};

// ------------------------------------------------------------------ Redis (hiredis)

struct reply_deleter {
    void operator()(redisReply* r) const noexcept {
        if (r != nullptr) freeReplyObject(r);
    }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
    void operator()(redisContext* c) const noexcept {
        if (c != nullptr) redisFree(c);
    }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

// A blocking hiredis connection to 127.0.0.1:port; every blocking read or write gives up after
// 5 s (SO_RCVTIMEO/SO_SNDTIMEO), so no run can hang on a silent server. nullptr when refused.
context_ptr redis_connect(int port, std::string* error = nullptr) {
    const timeval connect_timeout{1, 0};
    context_ptr c(redisConnectWithTimeout("127.0.0.1", port, connect_timeout));
    if (!c || c->err != 0) {
        if (error != nullptr) *error = c ? c->errstr : "out of memory";
        return nullptr;
    }
    (void)redisSetTimeout(c.get(), timeval{5, 0});
    return c;
}

reply_ptr redis_command(redisContext* c, const char* cmd) {
    return reply_ptr(static_cast<redisReply*>(redisCommand(c, cmd)));
}

// A node on Redis: one connection to publish on (PUBLISH is refused on a subscribed
// connection) and, once subscribe() was called, one to receive on.
class redis_client final : public peer_client {
  public:
    explicit redis_client(int port) : port_(port) {
        std::string why;
        pub_ = redis_connect(port, &why);
        if (!pub_) throw std::runtime_error("redis: connect: " + why);
    }
    void subscribe(const std::string& subject) override {
        std::string why;
        sub_ = redis_connect(port_, &why);
        if (!sub_) throw std::runtime_error("redis: connect: " + why);
        reply_ptr r(
            static_cast<redisReply*>(redisCommand(sub_.get(), "SUBSCRIBE %s", subject.c_str())));
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            throw std::runtime_error("redis: SUBSCRIBE " + subject + " failed");
        }
    }
    // Pipelined: the command goes into hiredis' output buffer; flush() writes the batch.
    void publish(const std::string& subject, std::string_view body) override {
        if (redisAppendCommand(pub_.get(), "PUBLISH %s %b", subject.c_str(), body.data(),
                               body.size()) != REDIS_OK) {
            errors_.fetch_add(1);
            return;
        }
        ++pending_;
    }
    // Writes the whole pipeline, then takes the replies that have arrived; it waits
    // (redisGetReply) only for those beyond `max_unanswered`, so an open-loop sender is never
    // held up by a reply and a fast one cannot run away from the server.
    void flush() override {
        for (int done = 0; done == 0;) {
            if (redisBufferWrite(pub_.get(), &done) != REDIS_OK) {
                throw std::runtime_error(std::string("redis: write: ") + pub_->errstr);
            }
        }
        take_replies(pending_ > max_unanswered ? pending_ - max_unanswered : 0);
    }
    void settle() override {
        flush();
        take_replies(pending_);
    }
    // Replies already read are parsed first; then one poll(2) of the socket for `timeout`, one
    // read (redisBufferRead), and every complete reply in it.
    std::size_t receive(const handler& on, std::chrono::milliseconds timeout,
                        std::size_t budget) override {
        std::size_t n = take(on, budget);
        if (n > 0) return n;
        pollfd p{sub_->fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return 0;
        if (redisBufferRead(sub_.get()) != REDIS_OK) {
            throw std::runtime_error(std::string("redis: read: ") + sub_->errstr);
        }
        return take(on, budget);
    }
    [[nodiscard]] std::uint64_t errors() const override { return errors_.load(); }

  private:
    static constexpr std::uint64_t max_unanswered = 1024;

    // The PUBLISH replies (integers: how many subscribers got it): every one already read, at
    // least `must` of them (waiting for those), and what one non-blocking read brings.
    void take_replies(std::uint64_t must) {
        bool read_once = false;
        while (pending_ > 0) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(pub_.get(), &raw) != REDIS_OK) {
                throw std::runtime_error(std::string("redis: reply: ") + pub_->errstr);
            }
            if (raw == nullptr) {
                if (must > 0) {
                    if (redisGetReply(pub_.get(), &raw) != REDIS_OK) {
                        throw std::runtime_error(std::string("redis: PUBLISH reply: ") +
                                                 pub_->errstr);
                    }
                } else {
                    pollfd p{pub_->fd, POLLIN, 0};
                    if (read_once || ::poll(&p, 1, 0) <= 0) break;
                    if (redisBufferRead(pub_.get()) != REDIS_OK) {
                        throw std::runtime_error(std::string("redis: read: ") + pub_->errstr);
                    }
                    read_once = true;
                    continue;
                }
            }
            const reply_ptr r(static_cast<redisReply*>(raw));
            if (r->type != REDIS_REPLY_INTEGER) errors_.fetch_add(1);
            --pending_;
            if (must > 0) --must;
        }
    }

    std::size_t take(const handler& on, std::size_t budget) {
        std::size_t n = 0;
        for (std::size_t k = 0; k < budget; ++k) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(sub_.get(), &raw) != REDIS_OK) {
                throw std::runtime_error(std::string("redis: reply: ") + sub_->errstr);
            }
            if (raw == nullptr) break;
            const reply_ptr r(static_cast<redisReply*>(raw));
            // ["message", channel, payload]
            if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
                std::string_view(r->element[0]->str, r->element[0]->len) != "message") {
                continue;
            }
            on(std::string_view(r->element[1]->str, r->element[1]->len),
               std::string_view(r->element[2]->str, r->element[2]->len));
            ++n;
        }
        return n;
    }

    int port_;
    context_ptr pub_, sub_;
    std::uint64_t pending_ = 0;
    std::atomic<std::uint64_t> errors_{0};
};

// ------------------------------------------------------------------ NATS (cnats)

std::string nats_error(const char* what, natsStatus s) {
    return std::string("nats: ") + what + ": " + natsStatus_GetText(s);
}

natsConnection* nats_connect(int port, natsStatus* status, bool send_asap = false) {
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    const std::string url = "nats://127.0.0.1:" + std::to_string(port);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
    if (s == NATS_OK && send_asap) s = natsOptions_SetSendAsap(opts, true);
    natsConnection* nc = nullptr;
    if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    *status = s;
    return s == NATS_OK ? nc : nullptr;
}

// A node on NATS: one connection (cnats' own reader and flusher threads), publishing with
// natsConnection_Publish (buffered; the library's flusher thread writes), receiving from one
// synchronous subscription (natsSubscription_NextMsg).
class nats_client final : public peer_client {
  public:
    nats_client(int port, bool send_asap) {
        natsStatus s = NATS_OK;
        nc_ = nats_connect(port, &s, send_asap);
        if (nc_ == nullptr) throw std::runtime_error(nats_error("connect", s));
    }
    ~nats_client() override {
        if (sub_ != nullptr) natsSubscription_Destroy(sub_);
        natsConnection_Close(nc_);
        natsConnection_Destroy(nc_);
    }
    nats_client(const nats_client&) = delete;
    nats_client& operator=(const nats_client&) = delete;

    void subscribe(const std::string& subject) override {
        natsStatus s = natsConnection_SubscribeSync(&sub_, nc_, subject.c_str());
        // A PING/PONG: the server has the subscription.
        if (s == NATS_OK) s = natsConnection_FlushTimeout(nc_, 5000);
        if (s != NATS_OK) throw std::runtime_error(nats_error("subscribe", s));
    }
    void publish(const std::string& subject, std::string_view body) override {
        if (natsConnection_Publish(nc_, subject.c_str(), body.data(),
                                   static_cast<int>(body.size())) != NATS_OK) {
            errors_.fetch_add(1);
        }
    }
    void flush() override {}
    void settle() override {}
    std::size_t receive(const handler& on, std::chrono::milliseconds timeout,
                        std::size_t budget) override {
        std::size_t n = 0;
        for (std::int64_t wait = timeout.count(); n < budget; wait = 0) {
            natsMsg* m = nullptr;
            const natsStatus s = natsSubscription_NextMsg(&m, sub_, wait);
            if (s == NATS_TIMEOUT) break;
            if (s != NATS_OK) {  // NATS_SLOW_CONSUMER: the library dropped messages
                errors_.fetch_add(1);
                break;
            }
            on(natsMsg_GetSubject(m),
               std::string_view(natsMsg_GetData(m),
                                static_cast<std::size_t>(natsMsg_GetDataLength(m))));
            natsMsg_Destroy(m);
            ++n;
        }
        return n;
    }
    [[nodiscard]] std::uint64_t errors() const override { return errors_.load(); }

  private:
    natsConnection* nc_ = nullptr;
    natsSubscription* sub_ = nullptr;
    std::atomic<std::uint64_t> errors_{0};
};

// ------------------------------------------------------------------ the servers

int free_port() {
    const std::string ep = free_tcp_endpoint();  // tcp://127.0.0.1:<port>
    return std::atoi(ep.c_str() + ep.rfind(':') + 1);
}

class external_server final : public peer_server {
  public:
    enum class kind : std::uint8_t { redis, nats };

    external_server(kind k, const std::string& exe, const temp_dir& dir,
                    std::chrono::milliseconds timeout)
        : kind_(k), port_(free_port()) {
        const std::string p = std::to_string(port_);
        std::vector<std::string> args;
        if (k == kind::redis) {
            // No persistence (no RDB snapshots, no AOF), its working dir in the temp dir, no
            // config file. The pub/sub output-buffer limit (default 32mb hard, 8mb for 60 s)
            // is set explicitly, far above what a run can queue (the window: 1000 messages of
            // ~200 bytes), so no subscriber can be disconnected for it.
            args = {"--port",
                    p,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    dir.path().string(),
                    "--client-output-buffer-limit",
                    "pubsub 256mb 64mb 60"};
        } else {
            // Defaults otherwise (max_payload 1 MB, no monitoring port, no JetStream).
            args = {"-a", "127.0.0.1", "-p", p};
        }
        const char* label = k == kind::redis ? "redis-server" : "nats-server";
        process_ = std::make_unique<common::child_process>(
            exe, args, dir.file(std::string(label) + "-" + p + ".log"));
        if (k == kind::redis) {
            wait_redis(timeout);
        } else {
            wait_nats(timeout);
        }
    }
    ~external_server() override {
        if (process_) (void)process_->stop();
    }
    external_server(const external_server&) = delete;
    external_server& operator=(const external_server&) = delete;

    [[nodiscard]] std::string_view name() const override {
        return kind_ == kind::redis ? "Redis" : "NATS";
    }
    [[nodiscard]] std::string version() const override { return version_; }
    [[nodiscard]] std::string clients() const override {
        return kind_ == kind::redis
                   ? "hiredis: pipelined PUBLISH (redisAppendCommand; a flush writes the "
                     "pipeline and takes the replies that arrived, redisGetReply waits only "
                     "past 1024 unanswered); SUBSCRIBE, then poll + redisBufferRead + "
                     "redisGetReplyFromReader"
                   : "cnats: natsConnection_Publish (buffered, the library's flusher thread "
                     "writes; latency runs: SendAsap); sync subscription, "
                     "natsSubscription_NextMsg";
    }
    [[nodiscard]] pid_t pid() const override { return process_->pid(); }
    std::unique_ptr<peer_client> connect(bool low_latency) override {
        if (kind_ == kind::redis) return std::make_unique<redis_client>(port_);
        return std::make_unique<nats_client>(port_, low_latency);
    }
    void check_alive() override {
        if (!process_->running()) {
            throw std::runtime_error(process_->executable() + " exited with status " +
                                     std::to_string(process_->wait_exit(0ms).value_or(-1)) +
                                     "; its log:\n" + process_->log());
        }
    }
    // nats-server exits 1 on SIGTERM by design (SIGINT: 0), after "Server Exiting..": that is
    // its clean stop.
    int stop() override {
        const int status = process_->stop();
        if (kind_ == kind::nats && status == 1 &&
            process_->log().find("Server Exiting..") != std::string::npos) {
            return 0;
        }
        return status;
    }

  private:
    // Until PING answers PONG. Between attempts (connection refused while it starts) the wait
    // is on the child's exit, 10 ms at most: a server that dies is reported at once.
    void wait_redis(std::chrono::milliseconds timeout) {
        const auto deadline = bench_clock::now() + timeout;
        std::string why = "no attempt";
        for (;;) {
            check_alive();
            if (auto c = redis_connect(port_, &why)) {
                if (auto pong = redis_command(c.get(), "PING");
                    pong && pong->type == REDIS_REPLY_STATUS &&
                    std::string_view(pong->str, pong->len) == "PONG") {
                    version_ = "redis-server " + info_field(c.get(), "redis_version") +
                               ", hiredis " + std::to_string(HIREDIS_MAJOR) + "." +
                               std::to_string(HIREDIS_MINOR) + "." + std::to_string(HIREDIS_PATCH);
                    const std::string limit = config_get(c.get(), "client-output-buffer-limit");
                    if (limit.find("pubsub 268435456 67108864 60") == std::string::npos) {
                        throw std::runtime_error(
                            "redis-server did not take the pub/sub output-buffer limit: " + limit);
                    }
                    version_ += " (pubsub output-buffer limit 256mb, 64mb for 60 s)";
                    return;
                }
                why = "no PONG";
            }
            if (bench_clock::now() >= deadline) {
                throw std::runtime_error("redis-server did not answer PING within " +
                                         std::to_string(timeout.count()) + " ms (" + why +
                                         "); its log:\n" + process_->log());
            }
            (void)process_->wait_exit(10ms);
        }
    }

    static std::string info_field(redisContext* c, const std::string& field) {
        const auto r = redis_command(c, "INFO server");
        if (!r || r->type != REDIS_REPLY_STRING) return "?";
        const std::string_view info(r->str, r->len);
        const auto at = info.find(field + ":");
        if (at == std::string_view::npos) return "?";
        const auto from = at + field.size() + 1;
        return std::string(info.substr(from, info.find_first_of("\r\n", from) - from));
    }

    static std::string config_get(redisContext* c, const char* key) {
        reply_ptr r(static_cast<redisReply*>(redisCommand(c, "CONFIG GET %s", key)));
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return "?";
        return std::string(r->element[1]->str, r->element[1]->len);
    }

    // Until a client connects (cnats: CONNECT, then PING/PONG) and one more PING/PONG.
    void wait_nats(std::chrono::milliseconds timeout) {
        const auto deadline = bench_clock::now() + timeout;
        natsStatus s = NATS_OK;
        for (;;) {
            check_alive();
            if (natsConnection* nc = nats_connect(port_, &s)) {
                s = natsConnection_FlushTimeout(nc, 2000);
                natsConnection_Destroy(nc);
                if (s == NATS_OK) break;
            }
            if (bench_clock::now() >= deadline) {
                throw std::runtime_error(
                    "nats-server did not answer within " + std::to_string(timeout.count()) +
                    " ms: " + natsStatus_GetText(s) + "; its log:\n" + process_->log());
            }
            (void)process_->wait_exit(10ms);
        }
        // nats-server logs "Version:  2.9.10" when it starts.
        const std::string log = process_->log();
        std::string v = "?";
        if (const auto at = log.find("Version:"); at != std::string::npos) {
            const auto from = log.find_first_not_of(' ', at + 8);
            v = log.substr(from, log.find_first_of("\r\n", from) - from);
        }
        version_ = "nats-server " + v + ", cnats " + nats_GetVersion();
    }

    kind kind_;
    int port_;
    std::unique_ptr<common::child_process> process_;
    std::string version_;
};

// ------------------------------------------------------------------ the runs

// Publishes a probe on `subject` through `pub` until every one of `subs` has received one (each
// wait is the client's own receive with a 10 ms timeout).
void probe_path(peer_client& pub, const std::vector<peer_client*>& subs, const std::string& subject,
                bench_clock::time_point deadline, peer_server& server) {
    std::vector<bool> seen(subs.size(), false);
    for (;;) {
        pub.publish(subject, probe_body);
        pub.flush();
        bool all = true;
        for (std::size_t s = 0; s < subs.size(); ++s) {
            if (seen[s]) continue;
            (void)subs[s]->receive(
                [&](std::string_view, std::string_view body) {
                    if (body == probe_body) seen[s] = true;
                },
                10ms, 1024);
            all = all && seen[s];
        }
        if (all) return;
        if (bench_clock::now() >= deadline) {
            server.check_alive();
            throw std::runtime_error(std::string(server.name()) + ": no probe on " + subject +
                                     " got through within the time limit");
        }
    }
}

}  // namespace

std::unique_ptr<peer_server> tradebus_peer(bus_target& broker) {
    return std::make_unique<tradebus_server>(broker);
}

std::optional<std::string> find_server_executable(const std::string& name) {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            const auto colon = rest.find(':');
            dirs.emplace_back(rest.substr(0, colon));
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
    }
    dirs.emplace_back("/usr/bin");
    dirs.emplace_back("/usr/sbin");
    for (const auto& d : dirs) {
        if (d.empty()) continue;
        const std::string candidate = d + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

std::unique_ptr<peer_server> start_redis(const std::string& exe, const temp_dir& dir,
                                         std::chrono::milliseconds timeout) {
    return std::make_unique<external_server>(external_server::kind::redis, exe, dir, timeout);
}

std::unique_ptr<peer_server> start_nats(const std::string& exe, const temp_dir& dir,
                                        std::chrono::milliseconds timeout) {
    return std::make_unique<external_server>(external_server::kind::nats, exe, dir, timeout);
}

peer_stream_result run_peer_stream(peer_server& server, const peer_stream_options& o) {
    server.check_alive();
    const std::string subject = schema::topics::for_symbol(schema::topics::md_tick, o.symbol);
    const std::size_t S = o.subscribers;
    auto pub = server.connect(false);
    std::vector<std::unique_ptr<peer_client>> subs;
    std::vector<peer_client*> sub_ptrs;
    for (std::size_t s = 0; s < S; ++s) {
        subs.push_back(server.connect(false));
        subs.back()->subscribe(subject);
        sub_ptrs.push_back(subs.back().get());
    }
    probe_path(*pub, sub_ptrs, subject, bench_clock::now() + std::max(o.time_limit, 10'000ms),
               server);

    // Credit: what each subscriber has received; the publisher keeps at most `window` messages
    // beyond the slowest one's count.
    auto delivered = std::make_unique<std::atomic<std::uint64_t>[]>(S);
    auto last_ns = std::make_unique<std::atomic<std::int64_t>[]>(S);
    struct sub_stats {
        std::uint64_t received = 0, gaps = 0, bad = 0;
    };
    std::vector<sub_stats> stats(S);
    for (std::size_t s = 0; s < S; ++s) delivered[s].store(0), last_ns[s].store(0);
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> done{0};
    std::mutex m;
    std::condition_variable cv;
    const auto notify = [&] {
        { std::lock_guard lock(m); }
        cv.notify_all();
    };
    const auto credit = [&] {
        std::uint64_t c = UINT64_MAX;
        for (std::size_t s = 0; s < S; ++s) {
            c = std::min(c, delivered[s].load(std::memory_order_acquire));
        }
        return c;
    };
    const std::uint64_t notify_step = std::max<std::uint64_t>(1, o.window / 4);
    const std::uint64_t N = o.messages;

    std::vector<std::thread> threads;
    for (std::size_t s = 0; s < S; ++s) {
        threads.emplace_back([&, s] {
            peer_client& c = *subs[s];
            sub_stats st;
            std::uint64_t next_seq = 1;
            const peer_client::handler on = [&](std::string_view, std::string_view body) {
                if (body == probe_body) return;  // a late probe
                auto ev = schema::decode_event(body);
                if (!ev || !std::holds_alternative<schema::tick>(ev.value().body)) {
                    ++st.bad;
                    return;
                }
                const std::uint64_t seq = ev.value().env.seq;
                if (seq < next_seq) {
                    ++st.bad;  // duplicate or out of order
                    return;
                }
                st.gaps += seq - next_seq;
                next_seq = seq + 1;
                const std::uint64_t d = ++st.received;
                delivered[s].store(d, std::memory_order_release);
                last_ns[s].store(mono_ns(), std::memory_order_relaxed);
                if (d % notify_step == 0 || d == N) notify();
            };
            try {
                while (!stop.load(std::memory_order_relaxed) && st.received < N) {
                    (void)c.receive(on, 20ms, 1024);
                }
            } catch (const std::exception&) {
                ++st.bad;
            }
            stats[s] = st;
            done.fetch_add(1);
            notify();
        });
    }

    const double cpu_before = server.cpu_seconds().value_or(0);
    const auto start = bench_clock::now();
    const std::int64_t start_ns = mono_ns();
    const auto deadline = start + o.time_limit;
    std::uint64_t sent = 0;
    bool publish_failed = false;
    {
        const std::string src = "bench-peer";
        schema::tick t = sample_tick(o.symbol);
        std::string buf;
        buf.reserve(512);
        try {
            while (sent < N && bench_clock::now() < deadline) {
                std::uint64_t in_flight = sent - credit();
                if (in_flight >= o.window) {
                    std::unique_lock lock(m);
                    while ((in_flight = sent - credit()) >= o.window && done.load() < S &&
                           bench_clock::now() < deadline) {
                        cv.wait_for(lock, 5ms);
                    }
                    if (in_flight >= o.window) break;  // time limit, or a subscriber gave up
                }
                const std::uint64_t k = std::min({o.window - in_flight, o.batch, N - sent});
                for (std::uint64_t i = 0; i < k; ++i) {
                    const std::uint64_t seq = ++sent;
                    const std::int64_t now = common::now_ns();
                    t.exch_ts_ns = now;
                    schema::encode_event(schema::envelope{src, seq, now, seq}, t, buf);
                    pub->publish(subject, buf);
                }
                pub->flush();
            }
            pub->settle();
        } catch (const std::exception&) {
            publish_failed = true;
        }
    }
    peer_stream_result r;
    {
        std::unique_lock lock(m);
        while (done.load() < S && credit() < sent && bench_clock::now() < deadline) {
            cv.wait_for(lock, 5ms);
        }
    }
    r.timed_out = bench_clock::now() >= deadline;
    stop.store(true);
    for (auto& th : threads) th.join();
    r.server_cpu_seconds = server.cpu_seconds().value_or(0) - cpu_before;

    std::int64_t end_ns = start_ns;
    for (std::size_t s = 0; s < S; ++s) end_ns = std::max(end_ns, last_ns[s].load());
    r.sent = sent;
    r.expected = sent * S;
    for (const auto& st : stats) {
        r.received += st.received;
        r.gap_messages += st.gaps;
        r.bad += st.bad;
    }
    r.bad += pub->errors() + (publish_failed ? 1 : 0);
    for (const auto& c : subs) r.bad += c->errors();
    r.lost = r.expected > r.received ? r.expected - r.received : 0;
    r.seconds = static_cast<double>(std::max<std::int64_t>(end_ns - start_ns, 1)) / 1e9;
    r.delivered_per_s = static_cast<double>(r.received) / static_cast<double>(S) / r.seconds;
    r.server_cpu_us_per_delivery =
        r.received > 0 ? r.server_cpu_seconds * 1e6 / static_cast<double>(r.received) : 0;
    server.check_alive();
    return r;
}

latency_result run_peer_latency(peer_server& server, const latency_options& o,
                                const std::string& symbol) {
    server.check_alive();
    const std::string ping = schema::topics::for_symbol(schema::topics::md_tick, symbol);
    const std::string pong = schema::topics::for_symbol(schema::topics::exec_fill, symbol);
    auto a = server.connect(true);
    auto b = server.connect(true);
    a->subscribe(pong);
    b->subscribe(ping);
    const auto probe_deadline = bench_clock::now() + 10s;
    probe_path(*a, {b.get()}, ping, probe_deadline, server);
    probe_path(*b, {a.get()}, pong, probe_deadline, server);

    const std::uint64_t total = o.warmup + o.messages;
    auto sent_ns = std::make_unique<std::atomic<std::int64_t>[]>(total);
    auto recv_ns = std::make_unique<std::atomic<std::int64_t>[]>(total);
    for (std::uint64_t i = 0; i < total; ++i) sent_ns[i].store(0), recv_ns[i].store(0);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> answered{0}, bad{0};

    // B: decodes every ping and publishes the same bytes back on the pong subject.
    std::thread echo([&] {
        const peer_client::handler on = [&](std::string_view, std::string_view body) {
            if (body == probe_body) return;
            if (!schema::decode_event(body)) {
                bad.fetch_add(1);
                return;
            }
            b->publish(pong, body);
        };
        try {
            while (!stop.load(std::memory_order_relaxed)) {
                if (b->receive(on, 20ms, 64) > 0) b->flush();
            }
        } catch (const std::exception&) {
            bad.fetch_add(1);
        }
    });
    // A's receiving side: the time right as the message is handed over, then a full decode.
    std::thread receiver([&] {
        const peer_client::handler on = [&](std::string_view, std::string_view body) {
            const std::int64_t now = mono_ns();
            if (body == probe_body) return;
            auto ev = schema::decode_event(body);
            if (!ev) {
                bad.fetch_add(1);
                return;
            }
            const std::uint64_t seq = ev.value().env.seq;
            if (seq == 0 || seq > total) return;
            const std::uint64_t i = seq - 1;
            if (sent_ns[i].load(std::memory_order_acquire) == 0) return;
            std::int64_t expected = 0;
            if (recv_ns[i].compare_exchange_strong(expected, now)) answered.fetch_add(1);
        };
        try {
            while (!stop.load(std::memory_order_relaxed)) (void)a->receive(on, 20ms, 1024);
        } catch (const std::exception&) {
            bad.fetch_add(1);
        }
    });

    // A's sending side, as run_latency: an absolute schedule with a 1 ns timer slack.
    const int old_slack = ::prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const auto period_ns = static_cast<std::int64_t>(1e9 / o.rate_per_s);
    const std::int64_t t0 = mono_ns() + 1'000'000;
    const std::int64_t deadline_ns =
        mono_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(o.time_limit).count();
    latency_result r;
    const auto s = send_open_loop(sample_tick(symbol), total, o.warmup, t0, period_ns, deadline_ns,
                                  sent_ns.get(), [&](std::string_view body) {
                                      try {
                                          a->publish(ping, body);
                                          a->flush();
                                          return true;
                                      } catch (const std::exception&) {
                                          bad.fetch_add(1);
                                          return false;
                                      }
                                  });
    const std::uint64_t sent = s.sent;
    const std::int64_t first_recorded_ns = s.first_recorded_ns, last_sent_ns = s.last_sent_ns;
    r.timed_out = s.timed_out;
    const std::int64_t wait_until = std::min(last_sent_ns + 1'000'000'000, deadline_ns);
    while (answered.load() < sent && mono_ns() < wait_until) {
        std::this_thread::sleep_for(1ms);  // polling a counter at the end of the run
    }
    if (old_slack > 0)
        ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0UL, 0UL, 0UL);
    stop.store(true);
    echo.join();
    receiver.join();
    try {
        a->settle();
        b->settle();
    } catch (const std::exception&) {
        bad.fetch_add(1);
    }

    // One-way: half of each round trip.
    r.record(sent_ns.get(), recv_ns.get(), o.warmup, sent, first_recorded_ns, last_sent_ns, 2e3);
    if (const std::uint64_t e = bad.load() + a->errors() + b->errors(); e > 0) {
        throw std::runtime_error(std::string(server.name()) + " latency run: " + std::to_string(e) +
                                 " undecodable messages or client errors");
    }
    server.check_alive();
    return r;
}

}  // namespace tradebus::bench
