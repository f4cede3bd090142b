#include "tradebus/runtime/recovery_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "tradebus/runtime/record_frames.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::runtime {

recovery_client::recovery_client(zmq::context_t& ctx, std::string control_endpoint,
                                 std::chrono::milliseconds timeout, std::int64_t retry_ms,
                                 recovery_request request, std::int64_t page_records,
                                 std::size_t max_held, common::curve_client curve)
    : ctx_(ctx),
      broker_(ctx, std::move(control_endpoint), timeout, std::move(curve)),
      timeout_(timeout),
      retry_ms_(retry_ms),
      request_(std::move(request)),
      page_records_(page_records),
      max_held_(max_held),
      since_ns_(request_.since_ns),
      anchor_phase_(!request_.anchor_topic.empty()) {}

bool recovery_client::wants(std::string_view topic) const noexcept {
    return std::any_of(request_.prefixes.begin(), request_.prefixes.end(),
                       [&](const std::string& p) { return schema::topics::matches(p, topic); });
}

zmq::socket_t* recovery_client::waiting_socket() noexcept {
    if (state_ == state::lookup) return &broker_.socket();
    if (state_ == state::query && query_) return &*query_;
    return nullptr;
}

std::int64_t recovery_client::next_deadline_ms() const noexcept {
    switch (state_) {
        case state::idle:
            return next_try_ms_;
        case state::lookup:
            return broker_.deadline_ms();
        case state::query:
            return query_deadline_ms_;
        case state::done:
            break;
    }
    return std::numeric_limits<std::int64_t>::max();
}

void recovery_client::fail(std::int64_t now_ms, std::string why) {
    ++failures_;
    problem_ = std::move(why);
    state_ = state::idle;
    next_try_ms_ = now_ms + retry_ms_;
    if (log_.hit() != 0) {
        spdlog::warn("recovery: {}; not ready, retrying in {} ms (attempt {})", problem_, retry_ms_,
                     failures_);
    }
}

void recovery_client::drive(std::int64_t now_ms) {
    switch (state_) {
        case state::idle:
            if (now_ms < next_try_ms_) return;
            schema::encode_control(schema::lookup_request{std::string(recovery_defaults::service)},
                                   out_);
            broker_.send(out_, now_ms);
            state_ = state::lookup;
            return;
        case state::lookup:
            if (broker_.expire(now_ms)) {
                fail(now_ms, "the broker at " + broker_.endpoint() + " did not answer lookup in " +
                                 std::to_string(timeout_.count()) + " ms");
            }
            return;
        case state::query:
            if (now_ms >= query_deadline_ms_) {
                reset_query_socket();
                fail(now_ms, "the journal at " + endpoint_ + " did not answer journal_query in " +
                                 std::to_string(timeout_.count()) + " ms");
            }
            return;
        case state::done:
            return;
    }
}

void recovery_client::on_readable(std::int64_t now_ms, const feed_fn& feed) {
    if (state_ == state::lookup) {
        if (auto reply = broker_.receive()) on_lookup_reply(now_ms, *reply);
    } else if (state_ == state::query) {
        on_query_reply(now_ms, feed);
    }
}

template <class Reply>
std::optional<Reply> recovery_client::expect(std::int64_t now_ms, std::string_view bytes,
                                             std::string_view what, std::string_view refused) {
    auto decoded = schema::decode_control(bytes);
    if (!decoded) {
        fail(now_ms, "undecodable " + std::string(what) + ": " + decoded.error().to_string());
    } else if (const auto* e = std::get_if<schema::error_reply>(&decoded.value())) {
        fail(now_ms, std::string(refused) + " (" + e->code + ": " + e->reason + ")");
        return std::nullopt;  // a well-formed refusal: the socket is fine
    } else if (auto* r = std::get_if<Reply>(&decoded.value())) {
        return std::move(*r);
    } else {
        fail(now_ms, "unexpected " + std::string(what) + " \"" +
                         std::string(schema::type_name(decoded.value())) + "\"");
    }
    reset_query_socket();  // a broken or unexpected reply: start the query socket afresh
    return std::nullopt;
}

void recovery_client::on_lookup_reply(std::int64_t now_ms, const std::string& bytes) {
    const auto found = expect<schema::lookup_reply>(now_ms, bytes, "lookup reply",
                                                    "journal service not available");
    if (!found) return;
    if (!found->healthy) {
        fail(now_ms, "journal node " + found->node + " is not healthy");
        return;
    }
    if (found->endpoint != endpoint_ || !query_) {
        endpoint_ = found->endpoint;
        try {
            reset_query_socket();
        } catch (const zmq::error_t& e) {  // announced, but not an address ZeroMQ can use
            query_.reset();
            const std::string bad = std::exchange(endpoint_, {});
            fail(now_ms,
                 "the journal's announced endpoint " + bad + " cannot be connected: " + e.what());
            return;
        }
        spdlog::info("recovery: querying journal node {} at {} from record {}", found->node,
                     endpoint_, from_index_);
    }
    send_query(now_ms);
}

void recovery_client::reset_query_socket() {
    query_.reset();
    if (endpoint_.empty()) return;
    query_.emplace(ctx_, zmq::socket_type::req);
    query_->set(zmq::sockopt::linger, 0);
    query_->connect(endpoint_);
}

void recovery_client::send_query(std::int64_t now_ms) {
    schema::journal_query q;
    q.since_ns = since_ns_;
    q.from_index = from_index_;
    if (anchor_phase_) {
        // One record a page: next_index then points right after the anchor record it carries.
        q.prefixes = {request_.anchor_topic};
        q.max_records = 1;
    } else {
        q.prefixes = request_.prefixes;
        q.max_records = page_records_;
    }
    schema::encode_control(q, out_);
    query_->send(zmq::buffer(out_), zmq::send_flags::dontwait);
    state_ = state::query;
    query_deadline_ms_ = now_ms + timeout_.count();
}

void recovery_client::on_query_reply(std::int64_t now_ms, const feed_fn& feed) {
    std::string why;
    auto reply = receive_records(*query_, why);
    if (!reply) {
        reset_query_socket();
        fail(now_ms, "malformed journal reply: " + why);
        return;
    }
    const auto ok = expect<schema::journal_query_reply>(now_ms, reply->header, "journal reply",
                                                        "the journal refused the query");
    if (!ok) return;
    if (ok->count != reply->records.size() || ok->next_index < from_index_) {
        reset_query_socket();
        fail(now_ms, "journal reply says " + std::to_string(ok->count) + " records, next " +
                         std::to_string(ok->next_index) + ", but carries " +
                         std::to_string(reply->records.size()));
        return;
    }
    ++pages_;
    if (anchor_phase_) {
        for (auto& r : reply->records) {
            if (r.topic != request_.anchor_topic) continue;  // a longer topic with that prefix
            anchor_ = std::move(r);
            anchor_next_ = ok->next_index;
        }
        from_index_ = ok->next_index;
        if (!ok->done) {
            send_query(now_ms);
            return;
        }
        anchor_phase_ = false;
        if (anchor_ && anchor_after_replay_since()) {
            spdlog::info(
                "recovery: the last {} is later than {} ns: replaying everything since then, "
                "that record included",
                request_.anchor_topic, request_.replay_since_ns);
            since_ns_ = request_.replay_since_ns;
            from_index_ = 0;
            anchor_.reset();
        } else if (anchor_) {
            spdlog::info("recovery: starting from the last {} (records from {} on)",
                         request_.anchor_topic, anchor_next_);
            feed(anchor_->topic, anchor_->body);
            ++records_;
            from_index_ = anchor_next_;
            anchor_.reset();
        } else {
            spdlog::info("recovery: no {} in the journal since {} ns: replaying from there",
                         request_.anchor_topic, request_.since_ns);
            from_index_ = 0;
        }
        send_query(now_ms);
        return;
    }
    for (const auto& r : reply->records) feed(r.topic, r.body);
    records_ += reply->records.size();
    from_index_ = ok->next_index;
    if (!ok->done) {
        send_query(now_ms);
        return;
    }
    if (catch_up_) {  // held events were dropped: read the journal's copy of them
        catch_up_ = false;
        spdlog::warn("recovery: reading the journal once more for events dropped while held");
        send_query(now_ms);
        return;
    }
    state_ = state::done;
}

bool recovery_client::anchor_after_replay_since() const {
    if (request_.replay_since_ns == 0) return false;
    const auto ev = schema::decode_event(anchor_->body);
    // An undecodable anchor tells no time: replay the longer range.
    return !ev || ev.value().env.ts_ns > request_.replay_since_ns;
}

void recovery_client::hold(std::string_view topic, std::string_view raw) {
    if (held_.size() >= max_held_) {
        if (!overflowed_) {
            spdlog::warn(
                "recovery: more than {} live events held back; dropping them and reading "
                "the journal's copy instead",
                max_held_);
        }
        overflowed_ = true;
        catch_up_ = true;
        held_.clear();
    }
    held_.emplace_back(std::string(topic), std::string(raw));
}

void recovery_client::note_recovered(std::string_view topic, const schema::envelope& env) {
    auto& last = recovered_[{env.src, std::string(topic)}];
    if (env.ts_ns > last.ts_ns || (env.ts_ns == last.ts_ns && env.seq > last.seq)) {
        last = {env.ts_ns, env.seq};
    }
}

std::vector<std::pair<std::string, std::string>> recovery_client::release_held() {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [topic, raw] : held_) {
        if (auto ev = schema::decode_event(raw)) {
            const auto& env = ev.value().env;
            auto it = recovered_.find({env.src, topic});
            if (it != recovered_.end() &&
                (env.ts_ns < it->second.ts_ns ||
                 (env.ts_ns == it->second.ts_ns && env.seq <= it->second.seq))) {
                continue;  // the journal returned it (or a later event of the same stream)
            }
        }
        out.emplace_back(std::move(topic), std::move(raw));
    }
    held_.clear();
    recovered_.clear();
    return out;
}

}  // namespace tradebus::runtime
