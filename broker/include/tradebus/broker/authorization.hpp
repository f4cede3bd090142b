// Who may send each control request type when CURVE is on (PROTOCOL.md "Security", control
// plane): one row per request type of schema::control_message, in this one table. The primary
// template has no definition, so a request type added to the variant without a row here does
// not compile, and neither does one the control plane has no handler for (control_plane::handle
// visits without a catch-all). Nothing can fail open by being forgotten.
#pragma once

#include <cstddef>
#include <type_traits>
#include <variant>

#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

enum class sender {
    any_client,     ///< any authenticated client
    as_itself,      ///< only with the request's `name` equal to the key's client name
    operator_only,  ///< only a client with `operator = true`
};

/// The row for message type T; see the specializations below.
template <class T>
struct access;

#define TRADEBUS_ACCESS(type, who)                  \
    template <>                                     \
    struct access<schema::type> {                   \
        static constexpr sender rule = sender::who; \
    }

TRADEBUS_ACCESS(register_request, as_itself);
TRADEBUS_ACCESS(heartbeat_request, as_itself);
TRADEBUS_ACCESS(deregister_request, as_itself);
TRADEBUS_ACCESS(announce_request, as_itself);
TRADEBUS_ACCESS(halt_request, operator_only);
TRADEBUS_ACCESS(resume_request, operator_only);
TRADEBUS_ACCESS(cancel_command, operator_only);
TRADEBUS_ACCESS(flatten_command, operator_only);
TRADEBUS_ACCESS(status_request, any_client);
TRADEBUS_ACCESS(snapshot_request, any_client);
TRADEBUS_ACCESS(lookup_request, any_client);
TRADEBUS_ACCESS(services_request, any_client);
TRADEBUS_ACCESS(recorder_ack, as_itself);     // and only the [recorder] client's name
TRADEBUS_ACCESS(recorder_resume, as_itself);  // and only the [recorder] client's name
TRADEBUS_ACCESS(journal_query, any_client);   // refused as not_allowed: the journal answers it

#undef TRADEBUS_ACCESS

/// A reply type (schema: T::is_reply); never handled as a request, whoever sends it.
template <class T>
concept reply_type = T::is_reply;

/// Every request type has a row (instantiating each one is what checks it).
template <class T>
constexpr bool has_row() {
    if constexpr (T::is_reply) {
        return true;
    } else {
        return access<T>::rule == access<T>::rule;
    }
}
template <class V>
struct every_request_has_a_row;
template <class... T>
struct every_request_has_a_row<std::variant<T...>> : std::bool_constant<(has_row<T>() && ...)> {};
static_assert(every_request_has_a_row<schema::control_message>::value);

}  // namespace tradebus::broker
