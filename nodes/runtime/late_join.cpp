#include "tradebus/runtime/late_join.hpp"

#include "tradebus/schema/codec.hpp"

namespace tradebus::runtime {

late_join::late_join(std::vector<std::string> prefixes) : prefixes_(std::move(prefixes)) {}

std::string late_join::key(std::string_view src, std::string_view topic) {
    std::string k;
    k.reserve(src.size() + 1 + topic.size());
    k.append(src).push_back('\0');  // '\0' is in neither a node name nor a topic
    k.append(topic);
    return k;
}

std::optional<schema::snapshot_request> late_join::next_request() const {
    if (done()) return std::nullopt;
    return schema::snapshot_request{prefixes_[current_], after_};
}

std::optional<std::string> late_join::on_reply(const schema::snapshot_reply& header,
                                               std::vector<std::string>& frames) {
    std::vector<schema::frame_pair> pairs;
    auto error = schema::split_frame_pairs(frames, header.count, pairs);
    if (!error) {
        for (auto& p : pairs) {
            if (!p.topic.starts_with(prefixes_[current_])) {
                error = "topic \"" + p.topic.substr(0, 64) + "\" is not under the prefix asked for";
                break;
            }
        }
    }
    if (!error) {
        for (auto& p : pairs) items_.push_back(std::move(p));
    }
    if (error || header.next.empty() || header.next <= after_) {
        ++current_;  // done with this prefix (a cursor that does not advance would loop)
        after_.clear();
    } else {
        after_ = header.next;
    }
    return error;
}

void late_join::seen_before_start(std::string_view topic, const schema::envelope& env,
                                  std::string_view raw) {
    std::string k = key(env.src, topic);
    auto it = before_start_.find(k);
    if (it == before_start_.end()) {
        if (before_start_.size() >= max_before_start) return;
        before_start_.emplace(std::move(k), live{stamp(env), std::string(topic), std::string(raw)});
    } else if (stamp(env).after(it->second.at)) {
        it->second.at = stamp(env);
        it->second.raw.assign(raw);
    }
}

std::vector<schema::frame_pair> late_join::take_for_start() {
    // Several prefixes may overlap ("md." and "md.tick."): one delivery per (src, topic).
    std::vector<schema::frame_pair> out;
    for (auto& item : items_) {
        const auto decoded = schema::decode_event(item.body);
        if (!decoded) {
            ++undecodable_;
            continue;
        }
        const auto& env = decoded.value().env;
        const std::string k = key(env.src, item.topic);
        stamp at(env);
        if (auto newer = before_start_.find(k);
            newer != before_start_.end() && newer->second.at.after(at)) {
            at = newer->second.at;
            item.body = std::move(newer->second.raw);
            before_start_.erase(newer);
        }
        if (auto [it, fresh] = delivered_.emplace(k, at); !fresh) {
            if (!at.after(it->second)) continue;
            it->second = at;
        }
        out.push_back(std::move(item));
    }
    items_.clear();
    before_start_.clear();
    return out;
}

bool late_join::is_duplicate(std::string_view topic, const schema::envelope& env) {
    if (delivered_.empty()) return false;
    key_.assign(env.src).push_back('\0');  // reused buffer: no allocation per live message
    key_.append(topic);
    auto it = delivered_.find(key_);
    if (it == delivered_.end()) return false;
    // Of the incarnation the snapshot delivered and not above its seq: a repeat, unless seq 1
    // after a higher one (the topic restarted, as gap_tracker sees it).
    const stamp& d = it->second;
    if (env.inc == d.inc && env.seq <= d.seq && !(env.seq == 1 && d.seq > 1)) return true;
    delivered_.erase(it);  // live traffic is past the snapshot for this stream for good
    return false;
}

}  // namespace tradebus::runtime
