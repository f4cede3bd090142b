// `tradebus keygen NAME`: a CURVE key pair in the two files the configs read (common/curve.hpp).
// The secret key goes to NAME.key only; stdout gets the public key and nothing else, so
// `KEY=$(tradebus keygen risk --dir keys)` is safe to run in a terminal that is being recorded.
#include <ostream>

#include "tradebus/cli/app.hpp"
#include "tradebus/common/curve.hpp"

namespace tradebus::cli {

int run_keygen(const keygen_options& opts, environment& env) {
    try {
        const common::curve_key_pair pair = common::generate_key_pair();
        const auto [key_path, pub_path] =
            common::write_key_files(opts.dir, opts.name, pair, opts.force);
        env.err << "tradebus keygen: wrote " << key_path << " (secret, mode 0600) and " << pub_path
                << " (public)\n";
        env.out << pair.public_key << "\n";
        return exit_code::ok;
    } catch (const common::key_error& e) {
        env.err << "tradebus keygen: " << e.what() << "\n";
        return exit_code::failure;
    }
}

}  // namespace tradebus::cli
