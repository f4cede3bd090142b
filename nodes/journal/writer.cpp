#include "tradebus/journal/writer.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "tradebus/journal/format.hpp"
#include "tradebus/journal/reader.hpp"

namespace tradebus::journal {

namespace fs = std::filesystem;

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
    return path + ": " + what + ": " + std::strerror(errno);
}

// Makes a new directory entry durable (the file's own fsync does not cover its name).
void fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

constexpr std::size_t max_logged_drops = 10;

}  // namespace

writer::writer(writer_options opts) : opts_(std::move(opts)) {
    opts_.buffer_bytes = std::max<std::uint64_t>(opts_.buffer_bytes, 4096);
    opts_.segment_bytes = std::max<std::uint64_t>(opts_.segment_bytes, format::header_bytes + 1);
    now_ns_ = opts_.created_ns != 0 ? opts_.created_ns : common::now_ns();
    std::error_code ec;
    fs::create_directories(opts_.dir, ec);
    if (ec)
        throw std::runtime_error(opts_.dir + ": cannot create journal directory: " + ec.message());
    buf_.reserve(static_cast<std::size_t>(opts_.buffer_bytes));
    const auto segments = list_segments(opts_.dir);
    if (segments.empty()) {
        open_segment((fs::path(opts_.dir) / format::segment_name(0)).string(), true, 0);
        recovery_.segment = seg_path_;
        recovery_.truncated_at = seg_size_;
        spdlog::info("journal: new journal in {} ({})", opts_.dir, seg_path_);
        return;
    }
    recover(segments.back());
}

writer::~writer() {
    if (fd_ >= 0) {
        flush();
        if (opts_.fsync != fsync_policy::none && sync_pending_) fdatasync_now(true);
    }
    close_fd();
}

void writer::close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void writer::recover(const std::string& path) {
    recovery_.segment = path;
    const auto named = format::parse_segment_name(fs::path(path).filename().string()).value_or(0);
    std::uint64_t first_index = named;
    std::uint64_t cut = format::header_bytes;
    std::uint64_t size = 0;
    std::vector<recovery_report::dropped_item> tail;  // damage after the last good record
    {
        segment_reader sr(path);
        size = sr.file_size();
        if (const auto& why = sr.header_error()) {
            if (size >= format::header_bytes) {
                // A full header that is not ours (or damaged): keep the file, start afresh.
                std::string aside = path + ".corrupt";
                for (int n = 1; fs::exists(aside); ++n)
                    aside = path + ".corrupt." + std::to_string(n);
                std::error_code ec;
                fs::rename(path, aside, ec);
                if (ec) throw std::runtime_error(path + ": cannot set aside: " + ec.message());
                recovery_.set_aside = aside;
                spdlog::error("journal: {}: {}; renamed to {} and starting a new segment", path,
                              *why, aside);
                open_segment(path, true, first_index);
                recovery_.truncated_at = seg_size_;
                return;
            }
            // Shorter than a header: the crash hit while the segment was being created.
            recovery_.dropped.push_back({0, size, *why});
            recovery_.dropped_bytes = size;
            spdlog::warn("journal: {}: {}; rewriting the header (dropped {} bytes)", path, *why,
                         size);
            open_segment(path, true, first_index);
            recovery_.truncated_at = seg_size_;
            return;
        }
        first_index = sr.header().first_index;
        std::uint64_t damaged_since_good = 0;
        for (bool more = true; more;) {
            switch (sr.next()) {
                case segment_reader::step::record:
                    cut = sr.end_offset();
                    recovery_.records_kept = sr.positions();
                    recovery_.damaged_kept += damaged_since_good;
                    damaged_since_good = 0;
                    tail.clear();
                    break;
                case segment_reader::step::damaged:
                    ++damaged_since_good;
                    tail.push_back({sr.offset(), sr.bad_bytes(), sr.reason()});
                    break;
                case segment_reader::step::fatal:
                    tail.push_back({sr.offset(), sr.bad_bytes(), sr.reason()});
                    more = false;
                    break;
                case segment_reader::step::end:
                    more = false;
                    break;
            }
        }
    }
    if (size > cut) {
        if (::truncate(path.c_str(), static_cast<off_t>(cut)) != 0) {
            throw std::runtime_error(errno_text("cannot truncate the torn tail", path));
        }
        recovery_.dropped = std::move(tail);
        recovery_.dropped_bytes = size - cut;
        spdlog::warn(
            "journal: {}: dropped a torn/corrupt tail of {} bytes at offset {} ({} "
            "record(s) kept)",
            path, recovery_.dropped_bytes, cut, recovery_.records_kept);
        for (std::size_t i = 0; i < recovery_.dropped.size() && i < max_logged_drops; ++i) {
            const auto& d = recovery_.dropped[i];
            spdlog::warn("journal:   dropped offset {} ({} bytes): {}", d.offset, d.bytes,
                         d.reason);
        }
    }
    if (recovery_.damaged_kept > 0) {
        spdlog::warn(
            "journal: {}: {} damaged record(s) inside the segment kept as they are "
            "(readers report and skip them)",
            path, recovery_.damaged_kept);
    }
    recovery_.truncated_at = cut;
    open_segment(path, false, first_index);
    seg_records_ = recovery_.records_kept;
    next_index_ = first_index + recovery_.records_kept;
    spdlog::info("journal: appending to {} at offset {} (next record {})", path, seg_size_,
                 next_index_);
}

void writer::open_segment(const std::string& path, bool create, std::uint64_t first_index) {
    close_fd();
    const int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
    fd_ = ::open(path.c_str(), flags, 0644);
    if (fd_ < 0) throw std::runtime_error(errno_text("cannot open segment", path));
    seg_path_ = path;
    seg_records_ = 0;
    if (create) {
        const auto header = format::encode_header({first_index, now_ns_});
        seg_size_ = 0;
        if (!write_out(std::string_view(header.data(), header.size()))) {
            close_fd();
            throw std::runtime_error(errno_text("cannot write segment header", path));
        }
        seg_size_ = format::header_bytes;
        if (opts_.fsync != fsync_policy::none) {
            fdatasync_now(false);
            fsync_dir(opts_.dir);
        }
        ++segments_created_;
        next_index_ = first_index;
    } else {
        const off_t end = ::lseek(fd_, 0, SEEK_END);
        if (end < 0) throw std::runtime_error(errno_text("cannot seek", path));
        seg_size_ = static_cast<std::uint64_t>(end);
    }
}

void writer::rotate() {
    flush();
    if (opts_.fsync != fsync_policy::none && sync_pending_) fdatasync_now(true);
    const auto path = (fs::path(opts_.dir) / format::segment_name(next_index_)).string();
    open_segment(path, true, next_index_);
    spdlog::debug("journal: rotated to {}", path);
}

bool writer::write_out(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            last_error_ = errno_text("write failed", seg_path_);
            return false;
        }
        ++writes_;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool writer::fdatasync_now(bool count) {
    if (fd_ < 0) return false;
    if (::fdatasync(fd_) != 0) {
        last_error_ = errno_text("fdatasync failed", seg_path_);
        if (const auto n = error_log_.hit())
            spdlog::error("journal: {} ({} errors)", last_error_, n);
        return false;
    }
    if (count) {
        ++fsyncs_;
        sync_pending_ = false;
        sync_due_ns_ = 0;
    }
    return true;
}

void writer::rollback_buffer() {
    // Cut the file back to its last complete record so the log stays readable, and give the
    // lost records' indexes back (indexes are positions in the segment).
    if (fd_ >= 0) {
        (void)::ftruncate(fd_, static_cast<off_t>(seg_size_));
        (void)::lseek(fd_, static_cast<off_t>(seg_size_), SEEK_SET);
    }
    dropped_ += buf_records_;
    seg_records_ -= buf_records_;
    next_index_ -= buf_records_;
    records_ -= buf_records_;
    if (const auto n = error_log_.hit()) {
        spdlog::error(
            "journal: {}; dropped {} buffered record(s) ({} errors in last period, {} "
            "records dropped in total)",
            last_error_, buf_records_, n, dropped_);
    }
    buf_.clear();
    buf_records_ = 0;
    flush_due_ns_ = 0;
}

bool writer::flush() {
    if (buf_.empty()) return true;
    bool ok = fd_ >= 0 && write_out(buf_);
    if (!ok) {
        if (fd_ < 0) last_error_ = seg_path_ + ": segment not open";
        rollback_buffer();
    } else {
        seg_size_ += buf_.size();
        buf_.clear();
        buf_records_ = 0;
        flush_due_ns_ = 0;
        last_error_.clear();
    }
    if (buf_.capacity() > 2 * opts_.buffer_bytes) {  // a huge record grew it: give it back
        std::string fresh;
        fresh.reserve(static_cast<std::size_t>(opts_.buffer_bytes));
        buf_.swap(fresh);
    }
    return ok;
}

bool writer::sync() {
    const bool ok = flush();
    return fdatasync_now(true) && ok;
}

bool writer::append(std::string_view topic, std::string_view body, std::int64_t recv_ts_ns,
                    std::uint16_t flags) {
    now_ns_ = recv_ts_ns;
    const std::size_t payload = format::payload_fixed_bytes + topic.size() + body.size();
    if (topic.size() > 0xFFFF || payload > format::max_payload_bytes) {
        ++dropped_;
        if (const auto n = error_log_.hit()) {
            spdlog::error(
                "journal: record of {} bytes on '{}' exceeds the format's limit; dropped "
                "({} in last period)",
                payload, topic.substr(0, 64), n);
        }
        return false;
    }
    const std::size_t size = format::frame_bytes + payload;
    if (fd_ < 0 || (seg_records_ > 0 && seg_size_ + buf_.size() + size > opts_.segment_bytes)) {
        try {
            rotate();  // also how a writer whose segment failed to open tries again
        } catch (const std::exception& e) {
            last_error_ = e.what();
            ++dropped_;
            if (const auto n = error_log_.hit()) {
                spdlog::error("journal: {}; record dropped ({} errors in last period)", last_error_,
                              n);
            }
            return false;
        }
    }
    if (!buf_.empty() && buf_.size() + size > opts_.buffer_bytes) flush();
    format::append_record(buf_, recv_ts_ns, flags, topic, body);
    ++buf_records_;
    ++seg_records_;
    ++next_index_;
    ++records_;
    if (flush_due_ns_ == 0) flush_due_ns_ = recv_ts_ns + opts_.flush_interval_ms * 1'000'000;
    if (opts_.fsync != fsync_policy::none && !sync_pending_) {
        sync_pending_ = true;
        sync_due_ns_ = recv_ts_ns + opts_.fsync_interval_ms * 1'000'000;
    }
    switch (opts_.fsync) {
        case fsync_policy::every:
            return sync();
        case fsync_policy::interval:
        case fsync_policy::none:
            if (buf_.size() >= opts_.buffer_bytes) return flush();
            return true;
    }
    return true;
}

std::int64_t writer::tick(std::int64_t now_ns) {
    now_ns_ = now_ns;
    if (!buf_.empty() && now_ns >= flush_due_ns_) flush();
    if (opts_.fsync == fsync_policy::interval && sync_pending_ && now_ns >= sync_due_ns_) sync();
    std::int64_t next = buf_.empty() ? 0 : flush_due_ns_;
    if (opts_.fsync == fsync_policy::interval && sync_pending_) {
        next = next == 0 ? sync_due_ns_ : std::min(next, sync_due_ns_);
    }
    return next;
}

}  // namespace tradebus::journal
