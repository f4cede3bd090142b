#include "tradebus/common/curve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <zmq.hpp>

namespace tradebus::common {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

// The TOML of a key file, or key_error naming the file.
toml::table parse_key_file(const std::string& path) {
    try {
        return toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw key_error(path + ":" + std::to_string(e.source().begin.line) + ":" +
                        std::to_string(e.source().begin.column) + ": not a key file (" +
                        std::string(e.description()) + ")");
    }
}

// One Z85 key of a key file; `secret`: never quote the value in an error.
std::string key_of(const toml::table& t, const std::string& path, std::string_view key,
                   bool secret) {
    const toml::node* node = t.get(key);
    if (node == nullptr) throw key_error(path + ": " + std::string(key) + ": missing");
    const auto value = node->value<std::string>();
    if (!node->is_string() || !value) {
        throw key_error(path + ": " + std::string(key) + ": expected a Z85 key string");
    }
    if (auto why = z85_key_error(*value)) {
        throw key_error(path + ": " + std::string(key) + ": " +
                        (secret ? "expected a 40-character Z85 key (value not shown)" : *why));
    }
    return *value;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

// Writes `text` to `path` with `mode` through a temporary file and a rename, so a reader never
// sees half a key and the mode is right from the first byte.
void write_file(const std::string& path, const std::string& text, mode_t mode) {
    const std::string tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) throw key_error(tmp + ": cannot create: " + errno_text());
    const bool ok = ::fchmod(fd, mode) == 0 &&
                    ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    const std::string why = errno_text();
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw key_error(path + ": cannot write: " + (ok ? errno_text() : why));
    }
}

}  // namespace

curve_key_pair generate_key_pair() {
    char pub[z85_key_chars + 1] = {};
    char sec[z85_key_chars + 1] = {};
    if (zmq_curve_keypair(pub, sec) != 0) {
        throw key_error(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()) +
                        " (libzmq built without CURVE?)");
    }
    return {pub, sec};
}

std::optional<std::string> z85_key_error(std::string_view key) {
    if (key.size() != z85_key_chars) {
        return "expected a 40-character Z85 key, got " + std::to_string(key.size()) + " characters";
    }
    static constexpr std::string_view alphabet =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    for (char c : key) {
        if (alphabet.find(c) == std::string_view::npos) {
            return std::string(
                "expected a 40-character Z85 key, got a character outside the "
                "Z85 alphabet");
        }
    }
    if (!z85_decode_key(key)) return std::string("expected a 40-character Z85 key");
    return std::nullopt;
}

std::optional<curve_key_bytes> z85_decode_key(std::string_view key) {
    if (key.size() != z85_key_chars) return std::nullopt;
    const std::string text(key);
    curve_key_bytes out{};
    if (zmq_z85_decode(out.data(), text.c_str()) == nullptr) return std::nullopt;
    return out;
}

std::string z85_encode_key(const std::uint8_t* bytes32) {
    char buf[z85_key_chars + 1] = {};
    if (zmq_z85_encode(buf, bytes32, 32) == nullptr) return {};
    return buf;
}

curve_key_pair load_key_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw key_error(path + ": cannot read: " + errno_text());
    if ((st.st_mode & 077) != 0) {
        throw key_error(path + ": permissions " + mode_text(st.st_mode) +
                        " are too open: a file holding a secret key must be accessible by its "
                        "owner only (chmod 600 " +
                        path + ")");
    }
    const toml::table t = parse_key_file(path);
    curve_key_pair pair;
    pair.secret_key = key_of(t, path, "secret_key", true);
    char derived[z85_key_chars + 1] = {};
    if (zmq_curve_public(derived, pair.secret_key.c_str()) != 0) {
        throw key_error(path +
                        ": secret_key: cannot derive its public key: " + zmq_strerror(zmq_errno()));
    }
    pair.public_key = derived;
    if (t.contains("public_key") && key_of(t, path, "public_key", false) != pair.public_key) {
        throw key_error(path + ": public_key: does not belong to secret_key (expected " +
                        pair.public_key + ")");
    }
    return pair;
}

std::string load_public_key_file(const std::string& path) {
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
    } else {
        throw key_error(path + ": cannot read: " + errno_text());
    }
    return key_of(parse_key_file(path), path, "public_key", false);
}

std::pair<std::string, std::string> write_key_files(const std::string& dir, const std::string& name,
                                                    const curve_key_pair& pair, bool force) {
    const std::string where = dir.empty() ? std::string(".") : dir;
    if (::mkdir(where.c_str(), 0700) != 0 && errno != EEXIST) {
        throw key_error(where + ": cannot create the directory: " + errno_text());
    }
    const std::string base = where + "/" + name;
    const std::string key_path = base + ".key";
    const std::string pub_path = base + ".pub";
    for (const auto& p : {key_path, pub_path}) {
        if (!force && exists(p)) {
            throw key_error(p + ": already exists; not replacing a key (--force to overwrite)");
        }
    }
    const std::string header = "# CURVE key pair \"" + name + "\" made by tradebus keygen.\n";
    write_file(key_path,
               header + "# Secret: keep this file mode 0600 and never share it.\npublic_key = \"" +
                   pair.public_key + "\"\nsecret_key = \"" + pair.secret_key + "\"\n",
               0600);
    write_file(pub_path,
               header + "# Public: give it to the broker (or its clients).\npublic_key = \"" +
                   pair.public_key + "\"\n",
               0644);
    return {key_path, pub_path};
}

void set_curve_server(zmq::socket_t& s, const std::string& secret_key) {
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::curve_secretkey, secret_key);
}

void set_curve_client(zmq::socket_t& s, const curve_client& keys) {
    if (!keys.enabled()) return;
    s.set(zmq::sockopt::curve_serverkey, keys.server_key);
    s.set(zmq::sockopt::curve_publickey, keys.public_key);
    s.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

std::string read_public_key(section& s, std::string_view key, std::string_view file_key,
                            bool required) {
    const bool inline_set = s.has(key);
    const bool file_set = s.has(file_key);
    const std::string value = s.string(key);
    const std::string file = s.string(file_key);
    if (inline_set && file_set) {
        s.error(file_key, "expected either " + std::string(key) + " or " + std::string(file_key) +
                              ", not both");
        return {};
    }
    if (inline_set) {
        if (auto why = z85_key_error(value)) {
            s.error(key, *why);
            return {};
        }
        return value;
    }
    if (file_set) {
        try {
            return load_public_key_file(file);
        } catch (const key_error& e) {
            s.error(file_key, e.what());
            return {};
        }
    }
    if (required) {
        s.error(key, "missing: expected " + std::string(key) + " (Z85) or " +
                         std::string(file_key) + " (a .pub file from tradebus keygen)");
    }
    return {};
}

curve_client read_curve_client(section& s) {
    curve_client out;
    if (!s.present()) return out;
    const bool wanted =
        s.has("broker_public_key") || s.has("broker_public_key_file") || s.has("key_file");
    out.server_key = read_public_key(s, "broker_public_key", "broker_public_key_file", wanted);
    const std::string key_file = s.string("key_file");
    if (wanted && key_file.empty()) {
        s.error("key_file",
                "missing: expected this client's key file (NAME.key from tradebus "
                "keygen) next to the broker's public key");
    } else if (!key_file.empty()) {
        try {
            const curve_key_pair pair = load_key_file(key_file);
            out.public_key = pair.public_key;
            out.secret_key = pair.secret_key;
        } catch (const key_error& e) {
            s.error("key_file", e.what());
        }
    }
    if (out.public_key.empty()) out.server_key.clear();
    return out;
}

}  // namespace tradebus::common
