#include "journal_rate.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "stream.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace fs = std::filesystem;

namespace {

using bench_clock = std::chrono::steady_clock;

double since(bench_clock::time_point t0) {
    return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

[[noreturn]] void io_error(const std::string& what, const fs::path& p) {
    throw std::runtime_error(what + " " + p.string() + ": " + std::strerror(errno));
}

std::uint64_t dir_bytes(const fs::path& dir) {
    std::uint64_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.is_regular_file()) n += e.file_size();
    }
    return n;
}

// Writes `count` records through the journal writer under `policy`; timed from opening the
// writer to its destructor (the final flush, and fdatasync unless the policy is none).
io_rate append_run(const fs::path& dir, journal::fsync_policy policy, std::uint64_t count,
                   const std::string& topic, const std::vector<std::string>& bodies,
                   std::chrono::milliseconds limit) {
    io_rate r;
    ::sync();  // start from a clean page cache: no writeback of an earlier run competes
    journal::writer_options wo;
    wo.dir = dir.string();
    wo.fsync = policy;
    const auto t0 = bench_clock::now();
    const auto deadline = t0 + limit;
    {
        journal::writer w(wo);
        std::uint64_t i = 0;
        for (; i < count; ++i) {
            const std::int64_t now = common::now_ns();
            if (!w.append(topic, bodies[i % bodies.size()], now)) {
                throw std::runtime_error("journal append failed: " + w.last_error());
            }
            if ((i & 1023u) == 0) {
                (void)w.tick(now);
                if (bench_clock::now() >= deadline) {
                    r.timed_out = true;
                    ++i;
                    break;
                }
            }
        }
        r.records = i;
        // Policy interval: plus the destructor's final fdatasync of what is still unsynced
        // (timed too); policy every has nothing left to sync by then.
        r.syncs = w.fsyncs() + (policy == journal::fsync_policy::interval ? 1 : 0);
    }
    r.seconds = since(t0);
    r.bytes = dir_bytes(dir);
    return r;
}

// The same bytes with plain write(2): `chunk`-byte writes, fdatasync after every write
// (`sync_every_write`), every `sync_interval` (when > 0), and at the end unless `no_sync`.
io_rate raw_write_run(const fs::path& file, std::uint64_t total, std::size_t chunk,
                      bool sync_every_write, std::chrono::milliseconds sync_interval,
                      bool no_sync) {
    io_rate r;
    ::sync();
    std::string buf(chunk, '\0');
    for (std::size_t i = 0; i < chunk; ++i) buf[i] = static_cast<char>('a' + i % 26);
    const auto t0 = bench_clock::now();
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) io_error("cannot create", file);
    auto next_sync = t0 + sync_interval;
    std::uint64_t written = 0;
    while (written < total) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk, total - written));
        std::size_t off = 0;
        while (off < n) {
            const ssize_t w = ::write(fd, buf.data() + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) io_error("write failed on", file);
            off += static_cast<std::size_t>(w);
        }
        written += n;
        ++r.records;
        if (sync_every_write || (sync_interval.count() > 0 && bench_clock::now() >= next_sync)) {
            if (::fdatasync(fd) != 0) io_error("fdatasync failed on", file);
            ++r.syncs;
            next_sync = bench_clock::now() + sync_interval;
        }
    }
    if (!no_sync && !sync_every_write) {
        if (::fdatasync(fd) != 0) io_error("fdatasync failed on", file);
        ++r.syncs;
    }
    ::close(fd);
    r.seconds = since(t0);
    r.bytes = written;
    return r;
}

std::vector<fs::path> files_of(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& p : journal::list_segments(dir.string())) out.emplace_back(p);
    return out;
}

// Writes back and drops the files' cached pages, so the next read comes from the disk.
void evict(const std::vector<fs::path>& files) {
    for (const auto& f : files) {
        const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) io_error("cannot open", f);
        (void)::fdatasync(fd);
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

// Fraction of the files' pages in the page cache (mincore), to say how cold "cold" was.
double resident(const std::vector<fs::path>& files) {
    const long page = ::sysconf(_SC_PAGESIZE);
    std::uint64_t pages = 0, in_core = 0;
    for (const auto& f : files) {
        const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st {};
        if (::fstat(fd, &st) == 0 && st.st_size > 0) {
            const auto size = static_cast<std::size_t>(st.st_size);
            void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
            if (m != MAP_FAILED) {
                const std::size_t n =
                    (size + static_cast<std::size_t>(page) - 1) / static_cast<std::size_t>(page);
                std::vector<unsigned char> vec(n);
                if (::mincore(m, size, vec.data()) == 0) {
                    pages += n;
                    for (unsigned char c : vec) in_core += c & 1u;
                }
                ::munmap(m, size);
            }
        }
        ::close(fd);
    }
    return pages == 0 ? 0 : static_cast<double>(in_core) / static_cast<double>(pages);
}

io_rate reader_run(const fs::path& dir) {
    io_rate r;
    const auto t0 = bench_clock::now();
    journal::reader rd(dir.string());
    std::uint64_t corrupt = 0;
    while (const journal::read_item* it = rd.next()) {
        if (it->what == journal::read_item::status::ok) {
            ++r.records;
        } else {
            ++corrupt;
        }
    }
    r.seconds = since(t0);
    r.bytes = dir_bytes(dir);
    if (corrupt != 0) {
        throw std::runtime_error("journal reader found " + std::to_string(corrupt) +
                                 " damaged records in " + dir.string());
    }
    return r;
}

io_rate raw_read_run(const std::vector<fs::path>& files) {
    io_rate r;
    std::vector<char> buf(1 << 20);
    const auto t0 = bench_clock::now();
    for (const auto& f : files) {
        const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) io_error("cannot open", f);
        for (;;) {
            const ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) io_error("read failed on", f);
            if (n == 0) break;
            r.bytes += static_cast<std::uint64_t>(n);
            ++r.records;
        }
        ::close(fd);
    }
    r.seconds = since(t0);
    return r;
}

}  // namespace

journal_result run_journal(const fs::path& base, const journal_options& o) {
    const fs::path root = base / "journal-bench";
    fs::remove_all(root);
    fs::create_directories(root);
    const std::string topic = schema::topics::for_symbol(schema::topics::md_tick, "AAPL");
    std::vector<std::string> bodies;
    for (std::uint64_t i = 0; i < 1024; ++i) bodies.push_back(sample_tick_body("AAPL", i + 1));

    journal_result res;
    res.body_bytes = bodies.front().size();
    res.record_bytes = journal::format::record_bytes(topic.size(), bodies.front().size());
    using journal::fsync_policy;
    const fsync_policy policies[] = {fsync_policy::none, fsync_policy::interval,
                                     fsync_policy::every};
    for (const auto policy : policies) {
        const auto idx = static_cast<std::size_t>(policy);
        const fs::path dir = root / ("journal-" + std::to_string(idx));
        const std::uint64_t n = policy == fsync_policy::every ? o.every_records : o.records;
        res.append[idx] = append_run(dir, policy, n, topic, bodies, o.time_limit);
        const std::uint64_t bytes = res.append[idx].bytes;
        const fs::path raw = root / ("raw-" + std::to_string(idx));
        switch (policy) {
            case fsync_policy::none:
                res.raw_write[idx] = raw_write_run(raw, bytes, journal::defaults::buffer_bytes,
                                                   false, std::chrono::milliseconds(0), true);
                break;
            case fsync_policy::interval:
                res.raw_write[idx] = raw_write_run(
                    raw, bytes, journal::defaults::buffer_bytes, false,
                    std::chrono::milliseconds(journal::defaults::fsync_interval_ms), false);
                break;
            case fsync_policy::every:
                // One record-sized write + fdatasync per journal record.
                res.raw_write[idx] =
                    raw_write_run(raw, res.append[idx].records * res.record_bytes, res.record_bytes,
                                  true, std::chrono::milliseconds(0), false);
                break;
        }
        fs::remove(raw);
        if (policy != fsync_policy::none) fs::remove_all(dir);
    }

    const fs::path replay = root / "journal-0";
    const auto files = files_of(replay);
    evict(files);
    res.cold_resident = resident(files);
    res.read_cold = reader_run(replay);
    res.read_warm = reader_run(replay);
    evict(files);
    res.raw_cold_resident = resident(files);
    res.raw_read_cold = raw_read_run(files);
    fs::remove_all(root);
    return res;
}

}  // namespace tradebus::bench
