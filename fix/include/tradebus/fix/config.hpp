// The [<node>.fix] table of a node that talks FIX (the execution node's FIX venue, the
// market data node's FIX source): one reader, so both read the same keys with the same
// `file:line:col: key: ...` errors (README "FIX venues" is the reference).
#pragma once

#include <string>

#include "tradebus/common/config.hpp"
#include "tradebus/fix/engine.hpp"

namespace tradebus::fix {

/// Where the FIX 4.4 data dictionary is when [*.fix] data_dictionary is not given: the
/// installed copy (<prefix>/share/tradebus/fix/FIX44.xml) when it exists, else the one the
/// install step put in the source tree (fix/dictionary/, scripts/install-deps.sh).
[[nodiscard]] std::string default_dictionary();

/// Reads a [*.fix] table (`fix`, required) into the settings of one initiator session.
/// Problems are recorded in `fix`; secrets come from files (password_file), never the TOML.
session_settings read_session(common::section& fix);

/// A CompID: 1..64 printable ASCII characters, no '=' (checked by read_session; the venue
/// simulator uses it for its own).
[[nodiscard]] bool valid_comp_id(std::string_view id) noexcept;

}  // namespace tradebus::fix
