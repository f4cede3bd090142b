// libFuzzer target: the journal reader and the writer's crash recovery on arbitrary segment
// files. The input is split at each "\n--\n" into up to 4 files journal-<i*1000>.tjl in a
// fresh temp dir. Properties: no crash; the reader's buffer stays bounded (64 KiB, or one
// record no longer than the largest file); `verify` counts exactly the records the reader
// yields; and after the writer opened the directory for append (recovering the last segment)
// and appended one record, the last segment ends cleanly (no torn or unparseable tail).
// Seeds: tradebus_fuzz_seeds (a small real journal segment).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "tradebus/journal/reader.hpp"
#include "tradebus/journal/writer.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tradebus;

[[noreturn]] void violated(const std::string& what) {
    std::fprintf(stderr, "tradebus fuzz: property violated: %s\n", what.c_str());
    std::abort();
}

const fs::path& work_dir() {
    static const fs::path dir = [] {
        auto d =
            fs::temp_directory_path() / ("tradebus-fuzz-journal-" + std::to_string(::getpid()));
        return d;
    }();
    return dir;
}

std::string segment_name(std::uint64_t first_index) {
    char name[64];
    std::snprintf(name, sizeof name, "journal-%020llu.tjl",
                  static_cast<unsigned long long>(first_index));
    return name;
}

bool fatal_reason(std::string_view reason) {
    return reason.starts_with("torn") || reason.starts_with("record length");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);  // recovery logs every dropped piece
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fs::path& dir = work_dir();
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::size_t largest = 0;
    std::size_t start = 0;
    for (std::uint64_t i = 0; i < 4 && start <= input.size(); ++i) {
        std::size_t end = input.find("\n--\n", start);
        if (end == std::string_view::npos || i == 3) end = input.size();
        const std::string_view bytes = input.substr(start, end - start);
        std::ofstream(dir / segment_name(i * 1000), std::ios::binary)
            .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        largest = std::max(largest, bytes.size());
        start = end + 4;
    }

    std::uint64_t yielded = 0;
    {
        journal::reader reader(dir.string());
        while (const auto* item = reader.next()) {
            if (item->what == journal::read_item::status::ok) ++yielded;
        }
        if (reader.max_buffer_capacity() >
            std::max<std::size_t>(journal::segment_reader::default_buffer_bytes, largest + 16)) {
            violated("reader buffer grew past one record (" +
                     std::to_string(reader.max_buffer_capacity()) + " bytes)");
        }
    }
    const auto report = journal::verify(dir.string());
    if (report.records != yielded) violated("verify and the reader disagree on the record count");

    try {
        journal::writer_options opts;
        opts.dir = dir.string();
        opts.fsync = journal::fsync_policy::none;
        journal::writer w(opts);
        (void)w.append("md.tick.FUZZ", "\x80", 1, 0);
    } catch (const std::exception&) {
        return 0;  // a directory the writer refuses (reported to the operator) is fine
    }
    const auto segments = journal::list_segments(dir.string());
    if (segments.empty()) violated("the writer left no segment");
    for (const auto& p : journal::verify(dir.string()).problems) {
        if (p.segment == segments.back() && fatal_reason(p.reason)) {
            violated("after recovery the last segment still has: " + p.reason);
        }
    }
    return 0;
}
