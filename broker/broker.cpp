#include "tradebus/broker/broker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <zmq.hpp>

#include "tradebus/broker/control_plane.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/forwarder.hpp"
#include "tradebus/broker/metrics_http.hpp"
#include "tradebus/broker/recorder.hpp"
#include "tradebus/broker/zap_handler.hpp"
#include "tradebus/common/curve.hpp"
#include "tradebus/common/loop.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/frame_pairs.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

namespace {

// What a node on this host connects to: the configured advertised endpoint, else the bound one
// (ZMQ_LAST_ENDPOINT resolves a wildcard port) with a wildcard host replaced by loopback.
std::string advertised(const std::string& configured, const zmq::socket_t& s) {
    if (!configured.empty()) return configured;
    std::string ep = s.get(zmq::sockopt::last_endpoint);
    for (const auto& [any, local] :
         {std::pair<std::string_view, std::string_view>{"tcp://0.0.0.0:", "tcp://127.0.0.1:"},
          {"tcp://[::]:", "tcp://[::1]:"}}) {
        if (ep.rfind(any, 0) == 0) ep = std::string(local) + ep.substr(any.size());
    }
    return ep;
}

class broker final : public event_sink {
  public:
    explicit broker(const broker_config& cfg)
        : cfg_(cfg),
          epoch_(new_epoch()),
          start_ms_(common::mono_ms()),
          stats_(cfg.data.max_topics_tracked),
          xsub_(ctx_, zmq::socket_type::xsub),
          xpub_(ctx_, zmq::socket_type::xpub),
          control_(ctx_, zmq::socket_type::router),
          forwarder_(xsub_, xpub_, cfg.data.max_message_bytes, stats_, cfg.data.max_subscriptions),
          trading_store_(cfg.trading.state_file),
          control_plane_(cfg, epoch_, *this, stats_, start_ms_) {
        // The operator's last halt or resume, before any node can register (README "Trading
        // state"): a broker restart never resumes trading by itself.
        const auto loaded = trading_store_.load(cfg.trading.missing_state, common::now_ns());
        control_plane_.restore_trading(loaded.record, &trading_store_, loaded.scopes);
        if (loaded.restored && loaded.record.state == schema::trading_state::active) {
            spdlog::info("{}", loaded.note);
        } else {
            spdlog::warn("{}{}", loaded.note,
                         trading_store_.durable()
                             ? ""
                             : "; set [trading] state_file so a restart keeps a halt");
        }
        // Always there: the kill switch's scopes reach late joiners through it, whatever
        // [lvc] prefixes says ([] = nothing forwarded is cached).
        lvc_ = std::make_unique<last_value_cache>(cfg.lvc.prefixes, cfg.lvc.max_topics,
                                                  cfg.lvc.max_bytes);
        lvc_->keep_own(std::string(schema::topics::trading_scopes));
        if (!cfg.lvc.prefixes.empty()) forwarder_.cache_into(lvc_.get());
        control_plane_.set_cache(lvc_.get());
        if (!cfg.metrics.listen.empty()) {
            metrics_ = std::make_unique<metrics_http>(cfg.metrics.listen, scrape_sources());
        }
    }

    int run() {
        spdlog::info("tradebus-broker {} starting: config {}, pid {}, epoch {}", common::version(),
                     cfg_.source, ::getpid(), epoch_);
        if (!bind_all() || !bind_recorder() || (metrics_ && !metrics_->bind())) return 1;
        subscribe_cached_prefixes();
        control_plane_.set_advertised(advertised(cfg_.endpoints.xsub_advertised, xsub_),
                                      advertised(cfg_.endpoints.xpub_advertised, xpub_));
        const std::string control_ep = advertised(cfg_.endpoints.control_advertised, control_);
        publish(
            schema::topics::broker_started,
            schema::broker_started{epoch_, std::string(common::version()),
                                   advertised(cfg_.endpoints.xsub_advertised, xsub_),
                                   advertised(cfg_.endpoints.xpub_advertised, xpub_), control_ep});
        control_plane_.publish_scopes();  // restored scopes: into the cache for every joiner
        spdlog::info(
            "ready: tradebus-broker {} config {} xsub {} xpub {} control {} metrics {} pid {} "
            "epoch {}",
            common::version(), cfg_.source, cfg_.endpoints.xsub, cfg_.endpoints.xpub,
            cfg_.endpoints.control, metrics_ ? cfg_.metrics.listen : "off", ::getpid(), epoch_);
        common::notify_ready("ready: epoch " + std::to_string(epoch_));
        int code = 0;
        try {
            loop();
            spdlog::info("stop requested; shutting down (linger {} ms)", defaults::linger_ms);
        } catch (const zmq::error_t& e) {
            spdlog::error("socket error {} ({}); shutting down", e.what(), e.num());
            code = 1;
        } catch (const std::exception& e) {
            spdlog::error("{}; shutting down", e.what());
            code = 1;
        }
        common::notify_stopping();
        return code;
    }

    void publish(std::string_view topic, const schema::payload& body) override {
        // Sequence numbers run per (src, topic) (PROTOCOL.md "Sequence numbers"); the broker
        // publishes on a handful of sys.* topics, so this map stays tiny.
        auto it = seq_.find(topic);
        if (it == seq_.end()) it = seq_.emplace(std::string(topic), 0).first;
        // The broker's incarnation is its epoch: subscribers tell its restart by it.
        schema::event ev{schema::envelope{cfg_.name, ++it->second, common::now_ns(), 0, epoch_},
                         body};
        schema::encode_event(ev, event_buf_);
        forwarder_.publish(topic, event_buf_);
        if (topic.starts_with(schema::topics::trading_scopes)) lvc_->put_own(topic, event_buf_);
    }

    void forget(std::string_view topic) override {
        lvc_->erase(topic);
        // A scope no longer in force: its topic leaves the map (a later halt of the same scope
        // starts at seq 1, which subscribers take as a restart, not a gap).
        if (auto it = seq_.find(topic); it != seq_.end()) seq_.erase(it);
    }

  private:
    // The lossless journal link (recorder.hpp), only when [endpoints] recorder is set.
    bool bind_recorder() {
        if (cfg_.endpoints.recorder.empty()) return true;
        recorder_ =
            std::make_unique<recorder>(ctx_, cfg_.data.sndhwm, stats_, epoch_,
                                       cfg_.recorder.retain_messages, cfg_.recorder.retain_bytes);
        if (cfg_.security.curve) {
            common::set_curve_server(recorder_->socket(), cfg_.security.secret_key);
        }
        try {
            recorder_->bind(cfg_.endpoints.recorder);
        } catch (const zmq::error_t& e) {
            spdlog::error("cannot bind recorder endpoint {}: {}; not starting",
                          cfg_.endpoints.recorder, e.what());
            return false;
        }
        forwarder_.attach_recorder(recorder_.get());
        control_plane_.set_recorder(recorder_.get(), cfg_.recorder.client);
        spdlog::info(
            "recorder link on {}: every message goes there first (XPUB_NODROP), kept until "
            "{} acknowledges it (up to {} messages / {} bytes)",
            cfg_.endpoints.recorder, cfg_.recorder.client, cfg_.recorder.retain_messages,
            cfg_.recorder.retain_bytes);
        return true;
    }

    // CURVE on: the ZAP handler first (a handshake without one fails), then every broker
    // socket becomes a CURVE server, and the forwarder checks topic ACLs.
    void secure() {
        const security_config& sec = cfg_.security;
        zap_.emplace(ctx_, sec, stats_);
        for (auto* s : {&xsub_, &xpub_, &control_}) common::set_curve_server(*s, sec.secret_key);
        acl_.emplace(sec, *this);
        forwarder_.enforce(*acl_);
        spdlog::info("CURVE on: broker public key {}, {} client key(s) allowed", sec.public_key,
                     sec.clients.size());
    }

    bool bind_all() {
        if (cfg_.security.curve) secure();
        for (auto* s : {&xsub_, &xpub_, &control_})
            s->set(zmq::sockopt::linger, defaults::linger_ms);
        // XSUB: publishers' queue, and a transport cut-off far above what we forward.
        xsub_.set(zmq::sockopt::rcvhwm, cfg_.data.rcvhwm);
        // What XSUB sends are subscription frames only. libzmq drops them silently at a
        // publisher's SNDHWM (a burst of (un)subscribes, a publisher busy for a moment), which
        // would leave publishers holding prefixes nobody wants: no limit here, so every frame
        // passed reaches every publisher (what each holds is bounded by max_subscriptions).
        xsub_.set(zmq::sockopt::sndhwm, 0);
        xsub_.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(cfg_.data.max_message_bytes) *
                                                defaults::transport_limit_factor);
        // XPUB: per-subscriber queue. Without NODROP a full queue drops for that subscriber
        // only; with it one slow subscriber would stall everyone. XPUB_VERBOSE stays off: like
        // zmq_proxy, only the first subscription to a prefix goes upstream. A last-value cache
        // will need it on (to see every new subscriber).
        xpub_.set(zmq::sockopt::sndhwm, cfg_.data.sndhwm);
        xpub_.set(zmq::sockopt::maxmsgsize, defaults::max_subscription_frame_bytes);
        control_.set(zmq::sockopt::router_mandatory, true);  // count replies it cannot queue
        control_.set(zmq::sockopt::maxmsgsize,
                     static_cast<std::int64_t>(schema::limits::max_message_bytes) *
                         defaults::transport_limit_factor);
        const std::pair<zmq::socket_t*, const std::string*> binds[] = {
            {&xsub_, &cfg_.endpoints.xsub},
            {&xpub_, &cfg_.endpoints.xpub},
            {&control_, &cfg_.endpoints.control}};
        const char* names[] = {"xsub", "xpub", "control"};
        for (std::size_t i = 0; i < 3; ++i) {
            try {
                binds[i].first->bind(*binds[i].second);
            } catch (const zmq::error_t& e) {
                spdlog::error("cannot bind {} endpoint {}: {}; not starting", names[i],
                              *binds[i].second, e.what());
                return false;
            }
        }
        return true;
    }

    // The cache must see its topics even while nobody subscribes to them (the market runs
    // before the first strategy starts): the broker subscribes upstream to each cached prefix
    // itself. XSUB keeps the subscription and sends it to every publisher that connects, and
    // counts it like any subscriber's, so a subscriber's unsubscribe never cancels it.
    void subscribe_cached_prefixes() {
        if (!lvc_) return;
        for (const auto& prefix : lvc_->prefixes()) {
            std::string frame = "\x01" + prefix;
            (void)xsub_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
        }
    }

    // The sockets the loop polls. An absent one (no recorder, CURVE off, metrics off) is left
    // out of the set: zmq_poll does not skip an item whose socket is null but polls its fd
    // field instead (0, stdin), which under systemd or any supervisor is /dev/null, always
    // readable, and would turn every poll into a busy spin.
    // The metrics endpoint's descriptors (its listener and connections) follow the sockets,
    // re-listed every turn.
    struct poll_set {
        enum slot : std::size_t { control, xpub, xsub, recorder, zap, slots };
        std::vector<zmq_pollitem_t> items;
        std::array<std::size_t, slots> index{};  // position in items, or slots when absent
        std::size_t size = 0;                    // the sockets; items beyond are metrics fds

        void add(slot s, void* socket) {
            index[s] = socket == nullptr ? slots : size;
            if (socket != nullptr) {
                items.push_back({socket, 0, ZMQ_POLLIN, 0});
                ++size;
            }
        }
        void want_input(slot s, bool on) {
            if (index[s] != slots) items[index[s]].events = on ? ZMQ_POLLIN : 0;
        }
        [[nodiscard]] bool readable(slot s) const {
            return index[s] != slots && (items[index[s]].revents & ZMQ_POLLIN) != 0;
        }
    };

    // The loop (common/loop.hpp): this broker is its owner. The ZAP socket (CURVE on) is
    // answered first each turn: a client's handshake waits on it. Its requests are few (one per
    // connection attempt).
    struct turns final : common::loop_owner {
        explicit turns(broker& b) : self(b) {
            set.add(poll_set::control, b.control_.handle());
            set.add(poll_set::xpub, b.xpub_.handle());
            set.add(poll_set::xsub, b.xsub_.handle());
            set.add(poll_set::recorder, b.recorder_ ? b.recorder_->socket().handle() : nullptr);
            set.add(poll_set::zap, b.zap_ ? b.zap_->socket().handle() : nullptr);
        }
        wait prepare() override { return self.prepare(set); }
        void dispatch() override { self.dispatch(set); }
        void before_sleep() override { self.run_timers(common::mono_ms()); }
        broker& self;
        poll_set set;
    };

    void loop() {
        turns t(*this);
        common::run_loop(t, defaults::max_poll_wait_ms);
    }

    // One loop turn (ARCHITECTURE.md "The loop"): wait until the nearest deadline (a node's
    // liveness, a sweep, the ACL's or the metrics' timers), drain each readable socket within
    // its budget (control first, so it never starves behind data), then run the due timers.
    common::loop_owner::wait prepare(poll_set& set) {
        const std::int64_t now = common::mono_ms();
        const std::int64_t due =
            std::min({control_plane_.next_deadline(), sweeping_ ? now : next_sweep_ms_,
                      acl_ ? acl_->next_deadline() : no_deadline,
                      metrics_ ? metrics_->next_deadline(now) : no_deadline,
                      now + defaults::max_poll_wait_ms});
        // A stalled recorder: XSUB stays unread (publishers' HWMs absorb the load) until the
        // recorder takes the held message; control and subscriptions are served meanwhile.
        // An XPUB always polls writable (libzmq's dist_t::has_out), so POLLOUT cannot say
        // when; the held message is retried every recorder_retry_ms instead of spinning.
        stalled_ = recorder_ && recorder_->stalled();
        set.want_input(poll_set::xsub, !stalled_);
        set.items.resize(set.size);
        if (metrics_) metrics_->poll_items(set.items);
        return {set.items, stalled_ ? std::min(due - now, defaults::recorder_retry_ms) : due - now};
    }

    void dispatch(poll_set& set) {
        if (set.readable(poll_set::zap)) {
            zap_->drain(defaults::control_drain_budget);
        }
        if (set.readable(poll_set::recorder)) {
            forwarder_.drain_recorder_subscriptions(defaults::data_drain_budget);
        }
        if (stalled_) forwarder_.resume_recorder();
        if (set.readable(poll_set::control)) drain_control(defaults::control_drain_budget);
        if (set.readable(poll_set::xpub)) {
            forwarder_.drain_subscriptions(defaults::data_drain_budget);
        }
        if (set.readable(poll_set::xsub)) {
            forwarder_.drain_events(defaults::data_drain_budget);
        }
        if (metrics_) {
            metrics_->handle(set.items.data() + set.size, set.items.size() - set.size,
                             common::mono_ms());
        }
    }

    void run_timers(std::int64_t now) {
        control_plane_.run_timers(now);
        if (metrics_) metrics_->run_timers(now);
        if (acl_) acl_->run_timers(now);
        sweep_topics(now);
    }

    // One control request: [identity][...envelope...][""][body] from REQ, or [identity][body]
    // from a DEALER that sends no delimiter. Every request gets exactly one reply, routed back
    // through the same envelope; anything but exactly one body frame is a bad_request.
    void drain_control(std::size_t budget) {
        for (std::size_t n = 0; n < budget; ++n) {
            frames_.clear();
            zmq::message_t first;
            if (!control_.recv(first, zmq::recv_flags::dontwait)) return;
            bool more = first.more();
            frames_.push_back(std::move(first));
            std::size_t extra = 0;
            while (more) {
                zmq::message_t part;
                (void)control_.recv(part, zmq::recv_flags::none);
                more = part.more();
                if (frames_.size() < defaults::max_control_frames) {
                    frames_.push_back(std::move(part));
                } else {
                    ++extra;
                }
            }
            answer(extra);
        }
    }

    void answer(std::size_t extra_frames) {
        std::size_t envelope_end = 1;
        for (std::size_t i = 1; i < frames_.size(); ++i) {
            if (frames_[i].size() == 0) {
                envelope_end = i + 1;
                break;
            }
        }
        const std::size_t bodies = frames_.size() - envelope_end + extra_frames;
        if (bodies == 1) {
            // CURVE on: the name the client's key authenticated as (the ZAP User-Id).
            const char* peer =
                zap_ ? zmq_msg_gets(frames_[envelope_end].handle(), "User-Id") : nullptr;
            control_plane_.handle_frame(frames_[envelope_end].to_string_view(), common::mono_ms(),
                                        reply_buf_, peer == nullptr ? "" : peer);
        } else {
            control_plane_.refuse("expected exactly one request frame after the envelope, got " +
                                      std::to_string(bodies),
                                  reply_buf_);
        }
        // ZMQ_ROUTER_MANDATORY is on: the first frame tells whether the reply can be queued
        // (the peer's queue holds whole messages, so the rest then fits too). A reply that
        // cannot be is counted by reason (PROTOCOL.md "Transports and sockets").
        try {
            if (!control_.send(frames_[0], zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
                control_plane_.reply_dropped(reply_drop::peer_queue_full);
                return;
            }
        } catch (const zmq::error_t& e) {
            if (e.num() != EHOSTUNREACH) throw;
            control_plane_.reply_dropped(reply_drop::peer_gone);
            return;
        }
        for (std::size_t i = 1; i < envelope_end; ++i) {
            (void)control_.send(frames_[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        }
        // A snapshot_ok is followed by its [topic][body] pairs (PROTOCOL.md "snapshot_ok").
        schema::write_frame_pairs(
            reply_buf_, control_plane_.reply_pairs(), [&](std::string_view frame, bool more) {
                (void)control_.send(zmq::buffer(frame),
                                    more ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                         : zmq::send_flags::dontwait);
            });
    }

    // The idle sweep of the topic table (topic_counters::sweep), a slice per loop turn: a pass
    // starts topic_idle_s after the previous one ended, so a row is removed after 1x to 2x
    // topic_idle_s without a message.
    void sweep_topics(std::int64_t now) {
        if (!sweeping_ && now >= next_sweep_ms_) {
            sweeping_ = true;
            sweep_bucket_ = 0;
        }
        if (!sweeping_) return;
        stats_.topics.sweep(sweep_bucket_, defaults::topic_sweep_buckets);
        sweep_bucket_ += defaults::topic_sweep_buckets;
        if (sweep_bucket_ >= stats_.topics.buckets()) {
            sweeping_ = false;
            next_sweep_ms_ = now + cfg_.data.topic_idle_s * 1000;
        }
    }

    [[nodiscard]] metrics_sources scrape_sources() const {
        return {stats_, control_plane_, cfg_.name, lvc_.get(),
                metrics_ ? &metrics_->stats() : nullptr};
    }

    const broker_config& cfg_;
    std::uint64_t epoch_;
    std::int64_t start_ms_;
    data_stats stats_;
    zmq::context_t ctx_{1};
    zmq::socket_t xsub_, xpub_, control_;
    forwarder forwarder_;
    std::unique_ptr<recorder> recorder_;
    trading_store trading_store_;
    control_plane control_plane_;
    std::optional<zap_handler> zap_;  // CURVE on only
    std::optional<topic_acl> acl_;
    std::map<std::string, std::uint64_t, std::less<>> seq_;
    std::string event_buf_, reply_buf_;
    std::vector<zmq::message_t> frames_;
    std::unique_ptr<last_value_cache> lvc_;  // never null (the scopes are always cached)
    std::unique_ptr<metrics_http> metrics_;  // null when [metrics] listen is empty
    bool sweeping_ = false;
    bool stalled_ = false;  // this turn: the recorder holds a message, XSUB is not read
    std::size_t sweep_bucket_ = 0;
    std::int64_t next_sweep_ms_ = common::mono_ms() + cfg_.data.topic_idle_s * 1000;
};

}  // namespace

int run(const broker_config& cfg) {
    try {
        broker b(cfg);
        return b.run();
    } catch (const zmq::error_t& e) {
        spdlog::error("socket error {} ({})", e.what(), e.num());
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
    }
    return 1;
}

}  // namespace tradebus::broker
