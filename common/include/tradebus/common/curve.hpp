// CURVE keys, shared by the broker, the node runtime and the CLI: key pairs made with
// zmq_curve_keypair (Z85 text, 40 characters), the two small TOML files `tradebus keygen`
// writes (NAME.key: public_key + secret_key, mode 0600; NAME.pub: public_key, 0644), and the
// socket options that make a socket a CURVE server or client. A secret key is never logged
// or put in an error message; a file holding one that group or others may read is refused
// (as ssh refuses a private key with loose permissions).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tradebus/common/config.hpp"

namespace zmq {
class socket_t;  // cppzmq; declared only, so config headers do not pull in <zmq.hpp>
}

namespace tradebus::common {

/// Z85 text of a 32-byte CURVE key.
inline constexpr std::size_t z85_key_chars = 40;
using curve_key_bytes = std::array<std::uint8_t, 32>;

/// A key file problem: what() names the file and what is wrong (never the secret itself).
class key_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct curve_key_pair {
    std::string public_key, secret_key;  // Z85
};

/// What a client socket needs to talk to a CURVE broker. Empty server_key = plaintext.
struct curve_client {
    std::string server_key;              // the broker's public key (Z85)
    std::string public_key, secret_key;  // this client's own pair (Z85)
    [[nodiscard]] bool enabled() const noexcept { return !server_key.empty(); }
};

/// A fresh key pair from zmq_curve_keypair. Throws key_error when libzmq has no CURVE.
[[nodiscard]] curve_key_pair generate_key_pair();

/// Why `key` is not a Z85 CURVE key (40 characters of the Z85 alphabet), or nullopt.
[[nodiscard]] std::optional<std::string> z85_key_error(std::string_view key);
/// The 32 bytes of a valid Z85 key (check z85_key_error first), or nullopt.
[[nodiscard]] std::optional<curve_key_bytes> z85_decode_key(std::string_view key);
[[nodiscard]] std::string z85_encode_key(const std::uint8_t* bytes32);

/// Reads NAME.key: checks the permissions (owner-only), the TOML, both keys, and that the
/// public key belongs to the secret one. Throws key_error naming the file.
[[nodiscard]] curve_key_pair load_key_file(const std::string& path);
/// Reads public_key from NAME.pub (or NAME.key; its secret is not looked at).
[[nodiscard]] std::string load_public_key_file(const std::string& path);

/// Writes DIR/NAME.key (0600) and DIR/NAME.pub (0644) for `pair`, creating DIR (0700) when it
/// does not exist. Refuses to replace an existing file unless `force`. Returns the two paths.
/// Throws key_error.
std::pair<std::string, std::string> write_key_files(const std::string& dir, const std::string& name,
                                                    const curve_key_pair& pair, bool force);

/// Makes `s` a CURVE server with `secret_key` (Z85); call before bind().
void set_curve_server(zmq::socket_t& s, const std::string& secret_key);
/// Makes `s` a CURVE client of `keys.server_key`; a no-op when !keys.enabled(). Before connect().
void set_curve_client(zmq::socket_t& s, const curve_client& keys);

/// Reads a client's keys from a config table: `broker_public_key` (Z85) or
/// `broker_public_key_file`, and `key_file` (this client's NAME.key). Absent table or keys =
/// plaintext. Problems are recorded against the keys as config errors.
[[nodiscard]] curve_client read_curve_client(section& s);

/// A key given either inline (`key`, Z85) or as a file (`file_key`): records an error when both
/// or (if `required`) neither is set, or when the key or the file is bad. Empty when unset.
[[nodiscard]] std::string read_public_key(section& s, std::string_view key,
                                          std::string_view file_key, bool required);

}  // namespace tradebus::common
