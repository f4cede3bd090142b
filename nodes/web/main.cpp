// tradebus-web: the desk's live web page (nodes/web). All logic lives in tradebus::web; the
// runtime does config, sockets, registration and the loop.
#include "tradebus/runtime/node.hpp"
#include "tradebus/web/web_node.hpp"

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "web", &tradebus::web::make_web);
}
