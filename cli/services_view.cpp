#include "tradebus/cli/services_view.hpp"

#include "text_table.hpp"
#include "tradebus/cli/format.hpp"

namespace tradebus::cli {

std::string format_services(const schema::services_reply& services) {
    if (services.services.empty()) {
        return "no services announced (a restarting risk or execution cannot recover until "
               "the journal announces its query endpoint)\n";
    }
    detail::text_table table({{"SERVICE"}, {"NODE"}, {"STATE"}, {"ENDPOINT"}});
    for (const auto& s : services.services) {
        table.add({printable(s.service), printable(s.node), std::string(schema::to_string(s.state)),
                   printable(s.endpoint)});
    }
    return table.render();
}

}  // namespace tradebus::cli
