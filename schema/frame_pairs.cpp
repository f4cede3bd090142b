#include "tradebus/schema/frame_pairs.hpp"

namespace tradebus::schema {

std::optional<std::string> split_frame_pairs(std::vector<std::string>& frames,
                                             std::optional<std::uint64_t> count,
                                             std::vector<frame_pair>& out) {
    const std::uint64_t got = frames.empty() ? 0 : frames.size() - 1;
    if (frames.empty() || got % 2 != 0) {
        return "expected a header and [topic][body] pairs, got " + std::to_string(frames.size()) +
               " frames";
    }
    if (count && (*count > got / 2 || got != 2 * *count)) {
        return "expected 1 + 2 x " + std::to_string(*count) + " frames, got " +
               std::to_string(frames.size());
    }
    out.reserve(out.size() + got / 2);
    for (std::size_t i = 1; i + 1 < frames.size(); i += 2) {
        out.push_back({std::move(frames[i]), std::move(frames[i + 1])});
    }
    return std::nullopt;
}

}  // namespace tradebus::schema
