#include "tradebus/journal/link_position.hpp"

#include "tradebus/journal/format.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::journal {

namespace {

// A mark, or a recorder_gap record (the journal went on at first_seq after a hole).
std::optional<link_position> mark_in(const record& rec) {
    if ((rec.flags & format::flags::recorder_mark) != 0) {
        if (rec.body.size() != format::recorder_mark_bytes) return std::nullopt;
        return link_position{format::get_u64(rec.body.data()),
                             format::get_u64(rec.body.data() + 8)};
    }
    if (rec.flags != 0 || rec.topic != schema::topics::recorder_gap) return std::nullopt;
    const auto ev = schema::decode_event(rec.body);
    if (!ev) return std::nullopt;
    const auto* gap = std::get_if<schema::recorder_gap>(&ev.value().body);
    if (gap == nullptr) return std::nullopt;
    return link_position{gap->epoch, gap->first_seq};
}

}  // namespace

std::string encode_recorder_mark(std::uint64_t epoch, std::uint64_t first_seq) {
    std::string out(format::recorder_mark_bytes, '\0');
    format::put_u64(out.data(), epoch);
    format::put_u64(out.data() + 8, first_seq);
    return out;
}

bool is_link_record(const record& rec) {
    return (rec.flags & (format::flags::gap_marker | format::flags::recorder_mark)) == 0 &&
           rec.topic != schema::topics::recorder_gap;
}

std::optional<link_position> find_link_position(const std::string& dir) {
    const auto segments = list_segments(dir);
    std::uint64_t later = 0;  // link records in the segments after the one being read
    for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        segment_reader seg(*it);
        if (seg.header_error()) continue;
        std::optional<link_position> mark;
        std::uint64_t after = 0;  // link records after `mark` (or in the segment, without one)
        for (auto step = seg.next(); step != segment_reader::step::end; step = seg.next()) {
            if (step != segment_reader::step::record) continue;
            if (auto m = mark_in(seg.rec())) {
                mark = m;
                after = 0;
            } else if (is_link_record(seg.rec())) {
                ++after;
            }
        }
        if (mark) return link_position{mark->epoch, mark->seq + after + later - 1};
        later += after;
    }
    return std::nullopt;
}

}  // namespace tradebus::journal
