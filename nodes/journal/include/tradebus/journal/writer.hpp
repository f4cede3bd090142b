// The journal's append side: a segmented, checksummed, append-only log in one directory.
// Records go through a bounded in-memory buffer to the current segment; segments rotate by
// size; a flush/fsync policy decides how much a crash can lose. Opening recovers from a crash:
// the last segment's torn or corrupt tail is truncated and what was dropped is reported.
// Single-threaded (the node's thread); not copyable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/common/process.hpp"

namespace tradebus::journal {

/// When data reaches the disk (fdatasync), beyond reaching the OS (write).
enum class fsync_policy : std::uint8_t {
    none,      // never fsync: a machine crash may lose what the OS had not written back
    interval,  // fdatasync at most every fsync_interval_ms while there is unsynced data
    every,     // write + fdatasync after every record: nothing acknowledged is ever lost
};

/// Defaults, each with its unit and why.
namespace defaults {
inline constexpr std::uint64_t segment_bytes = 64ULL << 20;  // 64 MiB: quick to scan, few files
inline constexpr std::int64_t fsync_interval_ms = 1000;      // lose at most ~1 s on power loss
inline constexpr std::int64_t flush_interval_ms = 100;       // lose at most ~100 ms on a crash
inline constexpr std::uint64_t buffer_bytes = 1ULL << 20;    // 1 MiB of records between writes
}  // namespace defaults

struct writer_options {
    std::string dir;
    std::uint64_t segment_bytes = defaults::segment_bytes;
    fsync_policy fsync = fsync_policy::interval;
    std::int64_t fsync_interval_ms = defaults::fsync_interval_ms;
    std::int64_t flush_interval_ms = defaults::flush_interval_ms;
    std::uint64_t buffer_bytes = defaults::buffer_bytes;
    /// The creation time written into the first segment's header until the first append
    /// (ns since the Unix epoch); 0 = now. A backtest gives its simulated start, so its
    /// journal is the same bytes run after run.
    std::int64_t created_ns = 0;
};

/// What opening the journal found and did to the last segment.
struct recovery_report {
    struct dropped_item {
        std::uint64_t offset = 0;
        std::uint64_t bytes = 0;
        std::string reason;
    };
    std::string segment;                // the last segment (the one appended to)
    std::uint64_t records_kept = 0;     // records (incl. damaged ones kept) before the cut
    std::uint64_t damaged_kept = 0;     // damaged records with later good records: kept as is
    std::uint64_t truncated_at = 0;     // new size of the segment (== old size: nothing cut)
    std::uint64_t dropped_bytes = 0;    // bytes cut from the tail
    std::vector<dropped_item> dropped;  // what the cut removed, in file order
    std::string set_aside;              // a segment with an unusable header, renamed to this
    [[nodiscard]] bool clean() const noexcept {
        return dropped_bytes == 0 && damaged_kept == 0 && set_aside.empty();
    }
};

class writer {
  public:
    /// Opens (creating) `opts.dir`, recovers the last segment and opens it for appending, or
    /// starts journal-00000000000000000000.tjl in an empty directory. Logs what recovery did.
    /// Throws std::runtime_error (with the path and errno text) when the directory or a file
    /// cannot be created, read or truncated.
    explicit writer(writer_options opts);
    /// Flushes the buffer (and fsyncs unless the policy is none), then closes.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    /// Appends one record received at `recv_ts_ns` (also the writer's notion of "now" for its
    /// flush/fsync deadlines). Rotates first when the record would overflow the segment.
    /// Returns false, counting it in dropped_records(), when the record is too large for the
    /// format or could not be written (disk full, I/O error): the segment is cut back to its
    /// last complete record, so the log stays readable.
    bool append(std::string_view topic, std::string_view body, std::int64_t recv_ts_ns,
                std::uint16_t flags = 0);

    /// Runs the policy at `now_ns`: writes the buffer once flush_interval_ms has passed since
    /// its oldest record, fdatasyncs (policy interval) once fsync_interval_ms has passed since
    /// the oldest unsynced write. Returns the next time it needs to run, 0 when nothing waits.
    std::int64_t tick(std::int64_t now_ns);

    /// Writes the buffer to the file now (no fsync). False on an I/O error.
    bool flush();
    /// Writes the buffer and fdatasyncs the segment now, whatever the policy.
    bool sync();

    [[nodiscard]] const recovery_report& recovery() const noexcept { return recovery_; }
    [[nodiscard]] const std::string& current_segment() const noexcept { return seg_path_; }
    [[nodiscard]] std::uint64_t next_index() const noexcept { return next_index_; }
    [[nodiscard]] std::uint64_t records_written() const noexcept { return records_; }
    [[nodiscard]] std::uint64_t dropped_records() const noexcept { return dropped_; }
    [[nodiscard]] std::uint64_t segments_created() const noexcept { return segments_created_; }
    [[nodiscard]] std::uint64_t fsyncs() const noexcept { return fsyncs_; }
    [[nodiscard]] std::uint64_t write_calls() const noexcept { return writes_; }
    [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buf_.size(); }
    /// The last I/O error, or empty. Cleared by the next successful write.
    [[nodiscard]] const std::string& last_error() const noexcept { return last_error_; }

  private:
    void recover(const std::string& path);
    void open_segment(const std::string& path, bool create, std::uint64_t first_index);
    void rotate();
    bool write_out(std::string_view bytes);
    bool fdatasync_now(bool count);
    void rollback_buffer();
    void close_fd();

    writer_options opts_;
    int fd_ = -1;
    std::string seg_path_;
    std::uint64_t seg_size_ = 0;     // bytes in the file (written), excluding the buffer
    std::uint64_t seg_records_ = 0;  // records in the current segment (incl. buffered)
    std::uint64_t buf_records_ = 0;  // records in buf_
    std::uint64_t next_index_ = 0;
    std::string buf_;
    std::int64_t flush_due_ns_ = 0;  // when the buffer must be written (0: empty)
    std::int64_t sync_due_ns_ = 0;   // when unsynced records must be synced (policy interval)
    bool sync_pending_ = false;      // records appended since the last fdatasync
    std::int64_t now_ns_ = 0;
    recovery_report recovery_;
    std::uint64_t records_ = 0, dropped_ = 0, segments_created_ = 0, fsyncs_ = 0, writes_ = 0;
    std::string last_error_;
    common::rate_limited error_log_;
};

}  // namespace tradebus::journal
