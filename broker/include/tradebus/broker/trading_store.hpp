// The broker's trading state on disk ([trading] state_file): the operator's last halt or resume
// of the desk (state, why, who, when) and every symbol or strategy scope in force survive a
// broker crash, a host reboot and a restart of any node, because every node takes the desk's
// state from the broker when it (re-)registers and the scopes from its last-value cache. Written
// on every change before the request is answered: a temporary file, fsync, rename over the old
// one, fsync of the directory, so a crash at any point leaves either the old or the new record.
// A broker that cannot read its last state starts in [trading] missing_state (default halted):
// a resume is only ever an operator's act (PROTOCOL.md "Trading state").
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tradebus/schema/types.hpp"

namespace tradebus::broker {

/// One operator decision: the trading state, its reason, who set it and when (wall ns).
struct trading_record {
    schema::trading_state state = schema::trading_state::halted;
    std::string reason;
    std::string by;
    std::int64_t since_ns = 0;
};

/// One scope of the kill switch in force: exactly one of symbol and strategy, and its record
/// (state reducing or halted: an active scope is not kept).
struct trading_scope_record {
    std::string symbol, strategy;
    trading_record record;
};

/// The state file's format: 1 (desk only, before scopes) is still read; 2 adds [[scope]].
inline constexpr std::int64_t trading_file_format = 2;

class trading_store {
  public:
    /// `file` empty: nothing is kept (load() always reports the state as unknown).
    explicit trading_store(std::filesystem::path file) : file_(std::move(file)) {}

    /// What load() found: the record, and `note` saying where it came from (for the log).
    struct loaded {
        trading_record record;
        std::vector<trading_scope_record> scopes;  // none when the file is damaged
        bool restored = false;  // read from the file; false = started in `missing`
        std::string note;
    };

    /// Reads the last records. A missing file (or none configured) gives `missing` with reason
    /// "no saved trading state"; an unreadable or malformed file (a scope entry included, or a
    /// format newer than trading_file_format) gives the desk `halted` whatever `missing` is (a
    /// damaged record proves nothing about the last decision), with the reason naming the file
    /// and what is wrong, and no scopes (the desk halt covers them). Never throws.
    [[nodiscard]] loaded load(schema::trading_state missing, std::int64_t now_ns) const;

    /// Writes the desk's record and every scope in force durably (see the file comment), as
    /// format trading_file_format, creating the parent directory if needed. Returns why it
    /// could not (nothing changed on disk then), or nullopt. A store without a file saves
    /// nothing and succeeds.
    [[nodiscard]] std::optional<std::string> save(
        const trading_record& desk, const std::vector<trading_scope_record>& scopes) const;

    [[nodiscard]] bool durable() const noexcept { return !file_.empty(); }
    [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

  private:
    std::filesystem::path file_;
};

}  // namespace tradebus::broker
