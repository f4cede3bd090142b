// `tradebus journal cat` and `tradebus journal verify`, on the journal's streaming reader
// (nodes/journal reader.hpp): memory stays bounded whatever the size of the log.
#include <ostream>

#include "tradebus/cli/app.hpp"
#include "tradebus/cli/journal_view.hpp"
#include "tradebus/cli/pattern.hpp"
#include "tradebus/cli/usage_error.hpp"
#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::cli {

namespace {
// Output is written in chunks of about this size (and at the end).
constexpr std::size_t flush_bytes = 64 * 1024;
}  // namespace

namespace {
// A node config's problems, one file:line:col line each, as a usage error (exit 2).
void throw_usage_if_errors(const common::config_errors& errors) {
    if (errors.empty()) return;
    std::string message;
    for (const auto& line : errors.lines()) message += (message.empty() ? "" : "\n") + line;
    throw usage_error(message);
}
}  // namespace

std::string read_journal_dir(const std::string& path) {
    common::config_errors errors(path);
    std::string dir;
    if (auto table = common::parse_config_file(path, errors)) {
        common::section root(&*table, "", errors);
        dir = root.table("journal").string("dir", "");
        if (dir.empty() && errors.empty()) errors.add("journal.dir", "missing required key");
    }
    throw_usage_if_errors(errors);
    return dir;
}

runtime::trading_session read_config_session(const std::string& path) {
    common::config_errors errors(path);
    runtime::trading_session session;
    if (auto table = common::parse_config_file(path, errors)) {
        common::section root(&*table, "", errors);
        session = runtime::read_session(root);
    }
    throw_usage_if_errors(errors);
    return session;
}

int run_journal_cat(const journal_options& opts, environment& env) {
    const topic_filter filter = topic_filter::parse(opts.patterns);
    const output_format format = opts.json ? output_format::json : output_format::lines;
    const line_options line{.utc = opts.utc};
    std::optional<journal::reader> reader;
    try {
        reader.emplace(opts.dir);
    } catch (const std::exception& e) {
        env.err << "tradebus journal cat: " << e.what() << std::endl;
        return exit_code::failure;
    }
    std::string batch;
    std::uint64_t shown = 0, damaged = 0;
    const auto flush = [&] {
        env.out << batch;
        env.out.flush();
        batch.clear();
        return static_cast<bool>(env.out);
    };
    while (const journal::read_item* item = reader->next()) {
        if (common::stop_requested()) break;
        if (item->what == journal::read_item::status::corrupt) {
            if (!flush()) break;  // keep the damage report in order with the records
            env.err << "tradebus journal cat: " << printable(item->segment) << ":" << item->offset
                    << ": " << printable(item->reason) << " (" << item->bytes << " bytes skipped)"
                    << std::endl;
            ++damaged;
            continue;
        }
        const journal::record& rec = item->rec;
        if (opts.since_ns && rec.recv_ts_ns < *opts.since_ns) continue;
        if (opts.until_ns && rec.recv_ts_ns >= *opts.until_ns) continue;
        if (!filter.matches(rec.topic)) continue;
        batch += render_record(rec, format, line);
        batch.push_back('\n');
        if (batch.size() >= flush_bytes && !flush()) break;
        if (opts.count > 0 && ++shown >= opts.count) break;
    }
    flush();
    if (damaged > 0) {
        env.err << "tradebus journal cat: " << damaged
                << " damaged record(s) skipped; run tradebus journal verify for the full report"
                << std::endl;
        return exit_code::failure;
    }
    return exit_code::ok;
}

int run_journal_verify(const journal_options& opts, environment& env) {
    journal::verify_report report;
    try {
        report = journal::verify(opts.dir);
    } catch (const std::exception& e) {
        env.err << "tradebus journal verify: " << e.what() << std::endl;
        return exit_code::failure;
    }
    env.out << (opts.json ? verify_json(report, opts.dir) + "\n" : format_verify(report, opts.dir));
    env.out.flush();
    return report.clean() ? exit_code::ok : exit_code::failure;
}

}  // namespace tradebus::cli
