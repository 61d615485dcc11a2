#include "geo/mvt.hpp"

#include "geo/error.hpp"

#include <protozero/pbf_builder.hpp>
#include <protozero/varint.hpp>

#include <algorithm>
#include <cassert>
#include <limits>

namespace sitmap::geo::mvt {

namespace {

// Field numbers of vector_tile.proto (MVT 2.1).
enum class TileTag : protozero::pbf_tag_type { layers = 3 };
enum class LayerTag : protozero::pbf_tag_type { name = 1, features = 2, keys = 3, values = 4, extent = 5, version = 15 };
enum class FeatureTag : protozero::pbf_tag_type { id = 1, tags = 2, type = 3, geometry = 4 };
enum class ValueTag : protozero::pbf_tag_type {
    string_value = 1,
    float_value = 2,
    double_value = 3,
    int_value = 4,
    uint_value = 5,
    sint_value = 6,
    bool_value = 7
};

constexpr std::uint32_t cmd_move_to = 1;
constexpr std::uint32_t cmd_line_to = 2;
constexpr std::uint32_t cmd_close_path = 7;
constexpr std::uint32_t max_command_count = (1U << 29U) - 1U;

constexpr std::uint32_t command(std::uint32_t id, std::size_t count) {
    return (id & 0x7U) | (static_cast<std::uint32_t>(count) << 3U);
}

void check_count(std::size_t n) {
    if (n > max_command_count) {
        throw input_error("mvt: a geometry part has " + std::to_string(n) + " points, more than a command can hold");
    }
}

/// Twice the signed area by the surveyor's formula in tile coordinates (y down): positive is
/// clockwise on screen, which the spec calls an exterior ring. 128-bit so it cannot overflow.
__extension__ typedef __int128 area_t;
area_t twice_area(const std::vector<TilePoint>& r) {
    area_t sum = 0;
    const std::size_t n = r.size();
    for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
        sum += static_cast<area_t>(r[j].x) * r[i].y - static_cast<area_t>(r[i].x) * r[j].y;
    }
    return sum;
}

} // namespace

// ---------------------------------------------------------------- FeatureBuilder

FeatureBuilder::FeatureBuilder(LayerBuilder& layer, std::optional<std::uint64_t> id, GeomType type) noexcept
    : m_layer(&layer), m_id(id), m_type(type), m_key_mark(layer.m_key_order.size()),
      m_value_mark(layer.m_value_order.size()) {
    assert(!layer.m_feature_open && "only one FeatureBuilder per layer may be open at a time");
    layer.m_feature_open = true;
    layer.reset_scratch();
}

FeatureBuilder::~FeatureBuilder() {
    rollback();
}

void FeatureBuilder::param(TilePoint p) {
    const std::int64_t dx = std::int64_t{p.x} - m_cursor.x;
    const std::int64_t dy = std::int64_t{p.y} - m_cursor.y;
    constexpr std::int64_t lo = -std::int64_t{std::numeric_limits<std::int32_t>::max()}; // spec: >= -(2^31 - 1)
    constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
    if (dx < lo || dx > hi || dy < lo || dy > hi) {
        throw input_error("mvt: a step between two points does not fit in 32 bits (is the geometry in tile coordinates?)");
    }
    auto& g = m_layer->m_geometry;
    g.push_back(protozero::encode_zigzag32(static_cast<std::int32_t>(dx)));
    g.push_back(protozero::encode_zigzag32(static_cast<std::int32_t>(dy)));
    m_cursor = p;
}

void FeatureBuilder::move_to(TilePoint p, std::uint32_t count) {
    m_layer->m_geometry.push_back(command(cmd_move_to, count));
    param(p);
}

FeatureBuilder& FeatureBuilder::point(TilePoint p) {
    assert(m_open && m_type == GeomType::Point);
    m_layer->m_points.push_back(p);
    return *this;
}

FeatureBuilder& FeatureBuilder::points(std::span<const TilePoint> pts) {
    assert(m_open && m_type == GeomType::Point);
    m_layer->m_points.insert(m_layer->m_points.end(), pts.begin(), pts.end());
    return *this;
}

FeatureBuilder& FeatureBuilder::line(std::span<const TilePoint> pts) {
    assert(m_open && m_type == GeomType::LineString);
    auto& r = m_layer->m_ring;
    r.clear();
    for (const TilePoint& p : pts) {
        if (r.empty() || r.back() != p) {
            r.push_back(p);
        }
    }
    if (r.size() < 2) {
        return *this;
    }
    check_count(r.size());
    auto& g = m_layer->m_geometry;
    g.reserve(g.size() + 2 * r.size() + 2);
    move_to(r.front(), 1);
    g.push_back(command(cmd_line_to, r.size() - 1));
    for (std::size_t i = 1; i < r.size(); ++i) {
        param(r[i]);
    }
    return *this;
}

FeatureBuilder& FeatureBuilder::polygon() {
    assert(m_open && m_type == GeomType::Polygon);
    m_next_is_exterior = true;
    m_skip_holes = false;
    return *this;
}

FeatureBuilder& FeatureBuilder::ring(std::span<const TilePoint> pts) {
    assert(m_open && m_type == GeomType::Polygon);
    const bool exterior = m_next_is_exterior;
    m_next_is_exterior = false;
    if (!exterior && m_skip_holes) {
        return *this;
    }
    auto& r = m_layer->m_ring;
    r.clear();
    for (const TilePoint& p : pts) {
        if (r.empty() || r.back() != p) {
            r.push_back(p);
        }
    }
    while (r.size() > 1 && r.back() == r.front()) {
        r.pop_back();
    }
    const area_t area = r.size() >= 3 ? twice_area(r) : 0;
    if (area == 0) {
        if (exterior) {
            m_skip_holes = true; // holes of a dropped exterior would attach to the previous polygon
        }
        return *this;
    }
    if (exterior) {
        m_skip_holes = false;
    }
    if ((area > 0) != exterior) {
        std::reverse(r.begin(), r.end());
    }
    check_count(r.size());
    auto& g = m_layer->m_geometry;
    g.reserve(g.size() + 2 * r.size() + 3);
    move_to(r.front(), 1);
    g.push_back(command(cmd_line_to, r.size() - 1));
    for (std::size_t i = 1; i < r.size(); ++i) {
        param(r[i]);
    }
    g.push_back(command(cmd_close_path, 1));
    return *this;
}

void FeatureBuilder::add_tag(PropertyKey key, std::string_view encoded_value) {
    property_at(key, m_layer->value_index(encoded_value));
}

FeatureBuilder& FeatureBuilder::property_at(PropertyKey key, std::uint32_t value_index) {
    assert(m_open && value_index < m_layer->m_value_order.size());
    const std::uint32_t k = key.m_index ? *key.m_index : m_layer->key_index(key.m_name);
    const std::uint32_t v = value_index;
    m_last_value = v;
    auto& tags = m_layer->m_tags;
    // The spec wants each key at most once per feature: a repeated key replaces the value.
    for (std::size_t i = 0; i < tags.size(); i += 2) {
        if (tags[i] == k) {
            tags[i + 1] = v;
            return *this;
        }
    }
    tags.push_back(k);
    tags.push_back(v);
    return *this;
}

FeatureBuilder& FeatureBuilder::property(PropertyKey key, std::string_view value) {
    auto& s = m_layer->m_value_scratch;
    s.clear();
    protozero::pbf_builder<ValueTag>{s}.add_string(ValueTag::string_value, value.data(), value.size());
    add_tag(key, s);
    return *this;
}

FeatureBuilder& FeatureBuilder::property(PropertyKey key, bool value) {
    auto& s = m_layer->m_value_scratch;
    s.clear();
    protozero::pbf_builder<ValueTag>{s}.add_bool(ValueTag::bool_value, value);
    add_tag(key, s);
    return *this;
}

FeatureBuilder& FeatureBuilder::property(PropertyKey key, double value) {
    auto& s = m_layer->m_value_scratch;
    s.clear();
    protozero::pbf_builder<ValueTag>{s}.add_double(ValueTag::double_value, value);
    add_tag(key, s);
    return *this;
}

FeatureBuilder& FeatureBuilder::property(PropertyKey key, float value) {
    auto& s = m_layer->m_value_scratch;
    s.clear();
    protozero::pbf_builder<ValueTag>{s}.add_float(ValueTag::float_value, value);
    add_tag(key, s);
    return *this;
}

FeatureBuilder& FeatureBuilder::property_int(PropertyKey key, std::int64_t value) {
    auto& s = m_layer->m_value_scratch;
    s.clear();
    protozero::pbf_builder<ValueTag> b{s};
    // int_value costs 10 bytes for any negative number; sint_value is zigzag encoded.
    if (value < 0) {
        b.add_sint64(ValueTag::sint_value, value);
    } else {
        b.add_int64(ValueTag::int_value, value);
    }
    add_tag(key, s);
    return *this;
}

FeatureBuilder& FeatureBuilder::property_uint(PropertyKey key, std::uint64_t value) {
    auto& s = m_layer->m_value_scratch;
    s.clear();
    protozero::pbf_builder<ValueTag>{s}.add_uint64(ValueTag::uint_value, value);
    add_tag(key, s);
    return *this;
}

bool FeatureBuilder::has_geometry() const noexcept {
    return m_type == GeomType::Point ? !m_layer->m_points.empty() : !m_layer->m_geometry.empty();
}

bool FeatureBuilder::commit() {
    assert(m_open && "FeatureBuilder::commit() called twice");
    if (!m_open) {
        return false;
    }
    if (!has_geometry()) {
        rollback();
        return false;
    }
    LayerBuilder& layer = *m_layer;
    if (m_type == GeomType::Point) {
        const auto& pts = layer.m_points;
        check_count(pts.size());
        layer.m_geometry.reserve(2 * pts.size() + 1);
        move_to(pts.front(), static_cast<std::uint32_t>(pts.size()));
        for (std::size_t i = 1; i < pts.size(); ++i) {
            param(pts[i]);
        }
    }
    {
        protozero::pbf_builder<LayerTag> layer_writer{layer.m_features};
        protozero::pbf_builder<FeatureTag> f{layer_writer, LayerTag::features};
        if (m_id) {
            f.add_uint64(FeatureTag::id, *m_id);
        }
        if (!layer.m_tags.empty()) {
            f.add_packed_uint32(FeatureTag::tags, layer.m_tags.cbegin(), layer.m_tags.cend());
        }
        f.add_enum(FeatureTag::type, static_cast<std::int32_t>(m_type));
        f.add_packed_uint32(FeatureTag::geometry, layer.m_geometry.cbegin(), layer.m_geometry.cend());
    }
    ++layer.m_feature_count;
    layer.m_feature_open = false;
    m_open = false;
    return true;
}

void FeatureBuilder::rollback() noexcept {
    if (!m_open) {
        return;
    }
    m_layer->truncate_dictionaries(m_key_mark, m_value_mark);
    m_layer->m_feature_open = false;
    m_open = false;
}

// ---------------------------------------------------------------- LayerBuilder

LayerBuilder::LayerBuilder(std::string_view name, std::uint32_t extent) : m_name(name), m_extent(extent) {}

PropertyKey LayerBuilder::key(std::string_view name) {
    assert(!m_feature_open && "register keys between features: a rollback would drop them");
    return PropertyKey(name, key_index(name));
}

std::uint32_t LayerBuilder::key_index(std::string_view key) {
    if (auto it = m_keys.find(key); it != m_keys.end()) {
        return it->second;
    }
    const auto index = static_cast<std::uint32_t>(m_key_order.size());
    auto [it, inserted] = m_keys.emplace(std::string(key), index);
    m_key_order.push_back(&it->first);
    return index;
}

std::uint32_t LayerBuilder::value_index(std::string_view encoded_value) {
    if (auto it = m_values.find(encoded_value); it != m_values.end()) {
        return it->second;
    }
    const auto index = static_cast<std::uint32_t>(m_value_order.size());
    auto [it, inserted] = m_values.emplace(std::string(encoded_value), index);
    m_value_order.push_back(&it->first);
    return index;
}

void LayerBuilder::truncate_dictionaries(std::size_t keys, std::size_t values) noexcept {
    // Keys and values first met by a feature that was dropped should not bloat the layer.
    while (m_key_order.size() > keys) {
        m_keys.erase(m_keys.find(std::string_view(*m_key_order.back())));
        m_key_order.pop_back();
    }
    while (m_value_order.size() > values) {
        m_values.erase(m_values.find(std::string_view(*m_value_order.back())));
        m_value_order.pop_back();
    }
}

void LayerBuilder::reset_scratch() noexcept {
    m_tags.clear();
    m_geometry.clear();
    m_points.clear();
}

void LayerBuilder::serialize_to(std::string& out) const {
    if (m_feature_count == 0) {
        return;
    }
    std::string head;
    {
        protozero::pbf_builder<LayerTag> w{head};
        w.add_uint32(LayerTag::version, 2);
        w.add_string(LayerTag::name, m_name);
    }
    std::string tail;
    {
        protozero::pbf_builder<LayerTag> w{tail};
        for (const std::string* k : m_key_order) {
            w.add_string(LayerTag::keys, *k);
        }
        for (const std::string* v : m_value_order) {
            w.add_message(LayerTag::values, *v);
        }
        w.add_uint32(LayerTag::extent, m_extent);
    }
    // The features are already encoded; write the Tile.layers header by hand so they are copied once.
    const std::size_t size = head.size() + m_features.size() + tail.size();
    out.reserve(out.size() + size + 10);
    protozero::add_varint_to_buffer(&out, (static_cast<std::uint32_t>(TileTag::layers) << 3U) | 2U);
    protozero::add_varint_to_buffer(&out, size);
    out += head;
    out += m_features;
    out += tail;
}

// ---------------------------------------------------------------- TileBuilder

LayerBuilder& TileBuilder::add_layer(std::string_view name, std::uint32_t extent) {
    if (name.empty()) {
        throw input_error("mvt: a layer needs a name");
    }
    if (extent == 0) {
        throw input_error("mvt: layer '" + std::string(name) + "' has extent 0");
    }
    for (const auto& l : m_layers) {
        if (l.name() == name) {
            throw input_error("mvt: layer '" + std::string(name) + "' added twice to one tile");
        }
    }
    return m_layers.emplace_back(name, extent);
}

bool TileBuilder::empty() const noexcept {
    return std::all_of(m_layers.begin(), m_layers.end(), [](const LayerBuilder& l) { return l.empty(); });
}

std::string TileBuilder::serialize() const {
    std::string out;
    serialize_to(out);
    return out;
}

void TileBuilder::serialize_to(std::string& out) const {
    for (const auto& l : m_layers) {
        l.serialize_to(out);
    }
}

} // namespace sitmap::geo::mvt
