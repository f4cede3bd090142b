// Answers journal_query (PROTOCOL.md "Journal query"): one bounded page of journaled events,
// read from the segment files. Only ordinary records are returned: gap markers and undecodable
// records (flags != 0) and damaged records are skipped. Segments that end before `from_index`
// are not opened, so a paged read costs what it returns, not the size of the journal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tradebus/runtime/record_frames.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::journal {

/// Bounds of one page: whichever is hit first ends it (done = false).
struct query_limits {
    std::int64_t max_records = 1000;      // the request may ask for fewer
    std::size_t max_bytes = 4u << 20;     // topics + bodies in one reply
    std::uint64_t max_scanned = 200'000;  // records looked at (keeps the journal responsive)
};

struct query_page {
    std::vector<runtime::record_pair> records;
    std::uint64_t next_index = 0;  // from_index for the next page
    bool done = false;             // nothing after next_index in the journal when read
    std::uint64_t damaged = 0;     // damaged records skipped on the way
};

/// Reads one page of `q` from the journal in `dir` (the writer must have flushed first).
/// Throws std::runtime_error when the directory cannot be listed.
[[nodiscard]] query_page read_page(const std::string& dir, const schema::journal_query& q,
                                   const query_limits& limits);

/// Checks a request: an error reason, or empty when it is acceptable.
[[nodiscard]] std::string check_query(const schema::journal_query& q);

}  // namespace tradebus::journal
