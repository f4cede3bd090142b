#include "tradebus/runtime/gap_tracker.hpp"

namespace tradebus::runtime {

gap_tracker::observation gap_tracker::observe(std::string_view src, std::string_view topic,
                                              std::uint64_t seq, std::uint64_t inc) {
    key_.assign(src);
    key_.push_back('\0');
    key_.append(topic);
    auto it = last_.find(std::string_view(key_));
    if (it == last_.end()) {
        if (last_.size() >= max_streams_) {
            ++untracked_;
            return {outcome::untracked};
        }
        last_.emplace(key_, last_seen{inc, seq});
        return {outcome::first};
    }
    const std::uint64_t last = it->second.seq;
    if (inc != it->second.inc) {
        it->second = {inc, seq};
        return {outcome::restart, 0, last + 1};
    }
    if (seq == last + 1) {
        it->second.seq = seq;
        return {outcome::in_order};
    }
    if (seq > last + 1) {
        const std::uint64_t missing = seq - last - 1;
        gaps_ += missing;
        it->second.seq = seq;
        return {outcome::gap, missing, last + 1};
    }
    if (seq == 1) {
        it->second.seq = seq;
        return {outcome::restart, 0, last + 1};
    }
    return {outcome::duplicate, 0, last + 1};
}

}  // namespace tradebus::runtime
