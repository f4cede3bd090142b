// The broker's trading state on disk ([trading] state_file): the operator's last halt or resume
// (state, why, who, when) survives a broker crash, a host reboot and a restart of any node,
// because every node takes the trading state from the broker when it (re-)registers. Written
// on every change before the request is answered: a temporary file, fsync, rename over the old
// one, fsync of the directory, so a crash at any point leaves either the old or the new record.
// A broker that cannot read its last state starts in [trading] missing_state (default halted):
// a resume is only ever an operator's act (PROTOCOL.md "Trading state").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "tradebus/schema/types.hpp"

namespace tradebus::broker {

/// One operator decision: the trading state, its reason, who set it and when (wall ns).
struct trading_record {
    schema::trading_state state = schema::trading_state::halted;
    std::string reason;
    std::string by;
    std::int64_t since_ns = 0;
};

class trading_store {
  public:
    /// `file` empty: nothing is kept (load() always reports the state as unknown).
    explicit trading_store(std::filesystem::path file) : file_(std::move(file)) {}

    /// What load() found: the record, and `note` saying where it came from (for the log).
    struct loaded {
        trading_record record;
        bool restored = false;  // read from the file; false = started in `missing`
        std::string note;
    };

    /// Reads the last record. A missing file (or none configured) gives `missing` with reason
    /// "no saved trading state"; an unreadable or malformed file gives `halted` whatever
    /// `missing` is (a damaged record proves nothing about the last decision), with the reason
    /// naming the file and what is wrong. Never throws.
    [[nodiscard]] loaded load(schema::trading_state missing, std::int64_t now_ns) const;

    /// Writes `r` durably (see the file comment), creating the parent directory if needed.
    /// Returns why it could not (nothing changed on disk then), or nullopt. A store without a
    /// file saves nothing and succeeds.
    [[nodiscard]] std::optional<std::string> save(const trading_record& r) const;

    [[nodiscard]] bool durable() const noexcept { return !file_.empty(); }
    [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

  private:
    std::filesystem::path file_;
};

}  // namespace tradebus::broker
