// libFuzzer target: the GeoJSON feature reader of the write API (layers/write.hpp). The first
// byte picks the layer, the rest is the request body. Bad input must end in sitmap::input_error.

#include "geo/error.hpp"
#include "layers/layer.hpp"
#include "layers/write.hpp"

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
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        (void)sitmap::layers::parse_feature(layer, body);
    } catch (const sitmap::input_error&) {
    }
    return 0;
}
