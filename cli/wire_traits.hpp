// Compile-time questions about schema types (is it an enum with wire names, a vector, a struct
// with fields()?) that the JSON writer and the line formatter ask while walking fields().
#pragma once

#include <string_view>
#include <type_traits>
#include <vector>

#include "tradebus/schema/types.hpp"

namespace tradebus::cli::detail {

struct field_probe {
    template <class F>
    void operator()(std::string_view, F&) {}
};

template <class T>
concept described = requires(T& t, field_probe& p) {
    T::fields(t, p);
};

template <class E>
concept wire_enum = std::is_enum_v<E> && requires {
    schema::enum_names<E>::names;
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

}  // namespace tradebus::cli::detail
