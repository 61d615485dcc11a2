// libFuzzer target: CQL2 text filters (layers/cql2.hpp). The first byte picks the layer, the
// rest is the filter. Bad input must end in sitmap::input_error; the SQL of a filter that
// parses must come out (to_sql) without any other exception.

#include "geo/error.hpp"
#include "layers/cql2.hpp"
#include "layers/layer.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    const auto& layers = sitmap::layers::all_layers();
    const auto& layer = layers[data[0] % layers.size()];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        const auto node = sitmap::layers::cql2::parse(text, layer);
        (void)sitmap::layers::cql2::to_sql(node, layer);
    } catch (const sitmap::input_error&) {
    }
    return 0;
}
