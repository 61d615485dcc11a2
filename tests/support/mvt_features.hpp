#pragma once
/// The features of a Mapbox Vector Tile layer as comparable text (tests): two tiles holding the
/// same features with the same geometry and properties give the same list, whatever the order of
/// the features and of the layer's key and value tables.

#include <catch2/catch.hpp>
#include <protozero/pbf_reader.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace sitmap::test {

inline std::string mvt_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : bytes) {
        out += digits[c >> 4U];
        out += digits[c & 15U];
    }
    return out;
}

/// One feature of a decoded layer as text: id, type, geometry commands, then key=value sorted.
inline std::string mvt_feature(std::string_view bytes, const std::vector<std::string>& keys,
                               const std::vector<std::string>& values) {
    protozero::pbf_reader feature(bytes.data(), bytes.size());
    std::string id, type, geometry;
    std::vector<std::string> properties;
    while (feature.next()) {
        switch (feature.tag()) {
            case 1: id = std::to_string(feature.get_uint64()); break;
            case 2: {
                const auto tags = feature.get_packed_uint32();
                for (auto it = tags.begin(); it != tags.end(); ++it) {
                    const auto key = *it++;
                    REQUIRE(it != tags.end());
                    properties.push_back(keys.at(key) + "=" + mvt_hex(values.at(*it)));
                }
                break;
            }
            case 3: type = std::to_string(feature.get_enum()); break;
            case 4:
                for (const auto command : feature.get_packed_uint32()) geometry += std::to_string(command) + ",";
                break;
            default: feature.skip();
        }
    }
    std::sort(properties.begin(), properties.end());
    std::string text = "id=" + id + " type=" + type + " geometry=" + geometry;
    for (const auto& p : properties) text += " " + p;
    return text;
}

/// The features of layer `name` of an MVT tile, each as text, sorted.
inline std::vector<std::string> mvt_features(const std::string& tile, const std::string& name) {
    protozero::pbf_reader reader(tile);
    std::vector<std::string> out;
    while (reader.next(3)) {
        auto layer = reader.get_message();
        std::string layer_name;
        std::vector<std::string> keys, values;
        std::vector<std::string_view> features;
        while (layer.next()) {
            switch (layer.tag()) {
                case 1: layer_name = layer.get_string(); break;
                case 2: {
                    const auto view = layer.get_view();
                    features.emplace_back(view.data(), view.size());
                    break;
                }
                case 3: keys.push_back(layer.get_string()); break;
                case 4: {
                    const auto view = layer.get_view();
                    values.emplace_back(view.data(), view.size());
                    break;
                }
                default: layer.skip();
            }
        }
        if (layer_name != name) continue;
        for (const auto f : features) out.push_back(mvt_feature(f, keys, values));
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace sitmap::test
