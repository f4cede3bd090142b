// Streaming reader of a journal directory: iterates every record of every segment in index
// order through one fixed-size buffer (it grows only to hold a single record larger than the
// buffer, and shrinks back after), so memory stays bounded whatever the log size. Damage is
// reported per record with segment and offset; reading continues after a damaged record
// whose length is intact, and at the next segment otherwise. The `tradebus journal` CLI
// (cat / replay / report / verify) and the writer's crash recovery are built on this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/journal/format.hpp"

namespace tradebus::journal {

/// One record as stored. Views point into the reader's buffer: valid until its next call.
struct record {
    std::uint64_t index = 0;  // global position: segment first_index + position in segment
    std::int64_t recv_ts_ns = 0;
    std::uint16_t flags = 0;
    std::string_view topic;
    std::string_view body;  // the msgpack bytes exactly as received (or a gap marker)
};

/// Reads one segment file. Used by `reader` and by the writer's recovery scan.
class segment_reader {
  public:
    /// Default read buffer: big enough for many records per read(2), small enough not to matter.
    static constexpr std::size_t default_buffer_bytes = 64 * 1024;

    enum class step : std::uint8_t {
        record,   // a good record in rec()
        damaged,  // a bad record with an intact length: skipped, reading goes on
        fatal,    // the rest of the segment cannot be parsed (torn tail, damaged length)
        end,      // clean end of the segment
    };

    /// Opens `path` and checks its header. Never throws for file content; an unreadable file
    /// is reported through header_error().
    explicit segment_reader(std::string path, std::size_t buffer_bytes = default_buffer_bytes);
    ~segment_reader();
    segment_reader(const segment_reader&) = delete;
    segment_reader& operator=(const segment_reader&) = delete;

    /// Why the segment cannot be read at all (missing/short/bad header), or nullopt.
    [[nodiscard]] const std::optional<std::string>& header_error() const noexcept {
        return header_error_;
    }
    [[nodiscard]] const format::segment_header& header() const noexcept { return header_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t file_size() const noexcept { return file_size_; }

    /// Advances by one record. After `fatal` or `end` it keeps returning `end`.
    step next();

    /// The record of the last `record` step.
    [[nodiscard]] const record& rec() const noexcept { return rec_; }
    /// Offset of the record (or damage) of the last step.
    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
    /// Bytes the last `damaged`/`fatal` step covers (the record, or the rest of the segment).
    [[nodiscard]] std::uint64_t bad_bytes() const noexcept { return bad_bytes_; }
    [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
    /// Records and damaged records passed so far (each takes one index).
    [[nodiscard]] std::uint64_t positions() const noexcept { return positions_; }
    /// Offset just past the last record or damaged-but-skipped record.
    [[nodiscard]] std::uint64_t end_offset() const noexcept { return end_offset_; }
    /// Current buffer capacity in bytes (the bounded-memory guarantee, for tests).
    [[nodiscard]] std::size_t buffer_capacity() const noexcept { return buf_.size(); }

  private:
    std::size_t ensure(std::size_t n);  // bytes available from pos_ (reads more as needed)
    step fail(std::string why, std::uint64_t bytes);

    std::string path_;
    int fd_ = -1;
    std::uint64_t file_size_ = 0;
    std::optional<std::string> header_error_;
    format::segment_header header_;
    std::size_t base_size_;
    std::vector<char> buf_;
    std::size_t pos_ = 0, len_ = 0;
    std::uint64_t buf_offset_ = 0;  // file offset of buf_[0]
    bool eof_ = false, done_ = false;
    record rec_;
    std::uint64_t offset_ = 0, bad_bytes_ = 0, positions_ = 0, end_offset_ = 0;
    std::string reason_;
};

/// What the reader yields per step.
struct read_item {
    enum class status : std::uint8_t { ok, corrupt };
    status what = status::ok;
    std::string_view segment;  // file path of the segment
    std::uint64_t offset = 0;  // of the record or of the damage within the segment
    record rec;                // valid when ok
    std::string_view reason;   // when corrupt: what is wrong
    std::uint64_t bytes = 0;   // when corrupt: bytes skipped because of it
};

/// Reads every segment of a journal directory in index order.
class reader {
  public:
    /// Lists `dir`'s segments (journal-<index>.tjl, other files ignored). Throws
    /// std::runtime_error when the directory cannot be listed.
    explicit reader(std::string dir,
                    std::size_t buffer_bytes = segment_reader::default_buffer_bytes);

    /// The next record or damage report, or nullptr after the last segment. The item and the
    /// views in it are valid until the next call.
    const read_item* next();

    [[nodiscard]] const std::vector<std::string>& segments() const noexcept { return segments_; }
    /// Largest buffer capacity any segment needed so far.
    [[nodiscard]] std::size_t max_buffer_capacity() const noexcept { return max_capacity_; }

  private:
    const read_item* corrupt(std::uint64_t offset, std::string reason, std::uint64_t bytes);

    std::string dir_;
    std::size_t buffer_bytes_;
    std::vector<std::string> segments_;
    std::size_t next_segment_ = 0;
    std::optional<segment_reader> seg_;
    std::optional<std::uint64_t> expected_index_;  // continuity check across segments
    bool prev_clean_ = true;
    std::string reason_;
    read_item item_;
    std::size_t max_capacity_ = 0;
};

/// One problem `verify` found.
struct problem {
    std::string segment;
    std::uint64_t offset = 0;
    std::uint64_t bytes = 0;
    std::string reason;
};

struct verify_report {
    std::size_t segments = 0;
    std::uint64_t records = 0;  // good records
    std::uint64_t bytes = 0;    // sizes of all segment files
    std::vector<problem> problems;
    [[nodiscard]] bool clean() const noexcept { return problems.empty(); }
};

/// Reads the whole journal in `dir` and reports every torn or corrupt record (segment +
/// offset + reason) and every break in index continuity between segments. Throws
/// std::runtime_error only when the directory cannot be listed.
[[nodiscard]] verify_report verify(const std::string& dir);

/// Segment file paths in `dir`, sorted by first index. Throws std::runtime_error when the
/// directory cannot be listed.
[[nodiscard]] std::vector<std::string> list_segments(const std::string& dir);

}  // namespace tradebus::journal
