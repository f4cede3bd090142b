#include "tradebus/journal/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "tradebus/journal/crc32c.hpp"

namespace tradebus::journal {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ segment_reader

segment_reader::segment_reader(std::string path, std::size_t buffer_bytes)
    : path_(std::move(path)),
      base_size_(std::max(buffer_bytes, format::header_bytes + format::frame_bytes)),
      buf_(base_size_) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        header_error_ = std::string("cannot open: ") + std::strerror(errno);
        done_ = true;
        return;
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0) file_size_ = static_cast<std::uint64_t>(st.st_size);
    const std::size_t got = ensure(format::header_bytes);
    std::string why;
    auto h = format::decode_header(std::string_view(buf_.data(), got), why);
    if (!h) {
        header_error_ = std::move(why);
        done_ = true;
        return;
    }
    header_ = *h;
    pos_ = format::header_bytes;
    end_offset_ = format::header_bytes;
}

segment_reader::~segment_reader() {
    if (fd_ >= 0) ::close(fd_);
}

std::size_t segment_reader::ensure(std::size_t n) {
    if (len_ - pos_ >= n || eof_) return std::min(n, len_ - pos_);
    // Move the unread part to the front; grow only when one record needs more room.
    if (pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
        buf_offset_ += pos_;
        len_ -= pos_;
        pos_ = 0;
    }
    if (n > buf_.size()) {
        buf_.resize(n);
    } else if (buf_.size() > base_size_ && len_ <= base_size_ && n <= base_size_) {
        std::vector<char> smaller(base_size_);  // give back what one big record needed
        std::memcpy(smaller.data(), buf_.data(), len_);
        buf_.swap(smaller);
    }
    while (len_ < n && !eof_) {
        const ssize_t r = ::read(fd_, buf_.data() + len_, buf_.size() - len_);
        if (r < 0) {
            if (errno == EINTR) continue;
            eof_ = true;  // an I/O error reads as the end of the data: reported as torn
            break;
        }
        if (r == 0) {
            eof_ = true;
            break;
        }
        len_ += static_cast<std::size_t>(r);
    }
    return std::min(n, len_ - pos_);
}

segment_reader::step segment_reader::fail(std::string why, std::uint64_t bytes) {
    reason_ = std::move(why);
    bad_bytes_ = bytes;
    done_ = true;
    return step::fatal;
}

segment_reader::step segment_reader::next() {
    if (done_) return step::end;
    offset_ = buf_offset_ + pos_;
    const std::uint64_t rest = file_size_ > offset_ ? file_size_ - offset_ : 0;
    const std::size_t have = ensure(format::frame_bytes);
    if (have == 0) {
        done_ = true;
        return step::end;
    }
    if (have < format::frame_bytes) {
        return fail("torn record frame: " + std::to_string(have) + " of " +
                        std::to_string(format::frame_bytes) + " bytes at the end of the segment",
                    have);
    }
    const char* f = buf_.data() + pos_;
    const std::uint32_t len = format::get_u32(f);
    const std::uint32_t check = format::get_u32(f + 4);
    if (check != ~len) {
        return fail("record length damaged (length " + std::to_string(len) +
                        " does not match its check word); rest of the segment unreadable",
                    std::max<std::uint64_t>(rest, have));
    }
    if (len < format::payload_fixed_bytes || len > format::max_payload_bytes) {
        return fail("record length " + std::to_string(len) + " out of range [" +
                        std::to_string(format::payload_fixed_bytes) + ", " +
                        std::to_string(format::max_payload_bytes) +
                        "]; rest of the segment unreadable",
                    std::max<std::uint64_t>(rest, have));
    }
    const std::size_t total = format::frame_bytes + len;
    if (total > rest) {
        // Never allocate by a claimed length the file cannot hold (a damaged or hostile length
        // word with a matching check word): look again in case a live journal grew since the
        // segment was opened, and report the tear without reading if it still does not fit.
        struct stat st {};
        if (::fstat(fd_, &st) == 0) {
            file_size_ = static_cast<std::uint64_t>(st.st_size);
            const std::uint64_t now_rest = file_size_ > offset_ ? file_size_ - offset_ : 0;
            if (total > now_rest) {
                return fail("torn record: " + std::to_string(now_rest) + " of " +
                                std::to_string(total) + " bytes at the end of the segment",
                            now_rest);
            }
        }
    }
    const std::size_t got = ensure(total);
    if (got < total) {
        return fail("torn record: " + std::to_string(got) + " of " + std::to_string(total) +
                        " bytes at the end of the segment",
                    got);
    }
    f = buf_.data() + pos_;  // ensure() may have moved the data
    const char* payload = f + format::frame_bytes;
    pos_ += total;
    end_offset_ = offset_ + total;
    ++positions_;
    if (crc32c(payload, len) != format::get_u32(f + 8)) {
        reason_ = "checksum mismatch";
        bad_bytes_ = total;
        return step::damaged;
    }
    const std::uint16_t topic_len = format::get_u16(payload + 10);
    if (format::payload_fixed_bytes + topic_len > len) {
        reason_ = "topic length " + std::to_string(topic_len) + " exceeds the record";
        bad_bytes_ = total;
        return step::damaged;
    }
    rec_.index = header_.first_index + positions_ - 1;
    rec_.recv_ts_ns = static_cast<std::int64_t>(format::get_u64(payload));
    rec_.flags = format::get_u16(payload + 8);
    rec_.topic = std::string_view(payload + format::payload_fixed_bytes, topic_len);
    rec_.body = std::string_view(payload + format::payload_fixed_bytes + topic_len,
                                 len - format::payload_fixed_bytes - topic_len);
    return step::record;
}

// ------------------------------------------------------------------ directory

std::vector<std::string> list_segments(const std::string& dir) {
    std::error_code ec;
    std::vector<std::pair<std::uint64_t, std::string>> found;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (auto idx = format::parse_segment_name(name)) {
            found.emplace_back(*idx, it->path().string());
        }
    }
    if (ec) throw std::runtime_error(dir + ": cannot list journal directory: " + ec.message());
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    out.reserve(found.size());
    for (auto& [idx, path] : found) out.push_back(std::move(path));
    return out;
}

reader::reader(std::string dir, std::size_t buffer_bytes)
    : dir_(std::move(dir)), buffer_bytes_(buffer_bytes), segments_(list_segments(dir_)) {}

const read_item* reader::corrupt(std::uint64_t offset, std::string reason, std::uint64_t bytes) {
    reason_ = std::move(reason);
    item_ = read_item{read_item::status::corrupt, seg_->path(), offset, {}, reason_, bytes};
    return &item_;
}

const read_item* reader::next() {
    for (;;) {
        if (!seg_) {
            if (next_segment_ >= segments_.size()) return nullptr;
            seg_.emplace(segments_[next_segment_++], buffer_bytes_);
            if (const auto& why = seg_->header_error()) {
                prev_clean_ = false;
                return corrupt(0, *why, seg_->file_size());
            }
            const auto first = seg_->header().first_index;
            const auto named =
                format::parse_segment_name(fs::path(seg_->path()).filename().string());
            const bool continuous = !expected_index_ || *expected_index_ == first;
            const bool was_clean = prev_clean_;
            expected_index_.reset();
            prev_clean_ = true;
            if (named && *named != first) {
                return corrupt(0,
                               "segment header says first index " + std::to_string(first) +
                                   " but the file name says " + std::to_string(*named),
                               0);
            }
            if (!continuous && was_clean) {
                return corrupt(0,
                               "index discontinuity: this segment starts at record " +
                                   std::to_string(first) + " (a segment is missing?)",
                               0);
            }
        }
        const auto st = seg_->next();
        max_capacity_ = std::max(max_capacity_, seg_->buffer_capacity());
        switch (st) {
            case segment_reader::step::record:
                item_ = read_item{read_item::status::ok, seg_->path(), seg_->offset(),
                                  seg_->rec(),           {},           0};
                return &item_;
            case segment_reader::step::damaged:
                return corrupt(seg_->offset(), seg_->reason(), seg_->bad_bytes());
            case segment_reader::step::fatal:
                prev_clean_ = false;
                return corrupt(seg_->offset(), seg_->reason(), seg_->bad_bytes());
            case segment_reader::step::end:
                if (!seg_->header_error()) {
                    expected_index_ = seg_->header().first_index + seg_->positions();
                }
                seg_.reset();
                break;
        }
    }
}

verify_report verify(const std::string& dir) {
    verify_report rep;
    reader r(dir);
    rep.segments = r.segments().size();
    for (const auto& s : r.segments()) {
        std::error_code ec;
        const auto size = fs::file_size(s, ec);
        if (!ec) rep.bytes += size;
    }
    while (const read_item* it = r.next()) {
        if (it->what == read_item::status::ok) {
            ++rep.records;
        } else {
            rep.problems.push_back(
                problem{std::string(it->segment), it->offset, it->bytes, std::string(it->reason)});
        }
    }
    return rep;
}

}  // namespace tradebus::journal
