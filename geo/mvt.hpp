#pragma once
/// A Mapbox Vector Tile 2.1 encoder on protozero.
///
/// Usage:
/// ```
///   sitmap::geo::mvt::TileBuilder tile;
///   auto& layer = tile.add_layer("incidents");            // version 2, extent 4096
///   {
///       auto f = layer.feature(42, sitmap::geo::mvt::GeomType::Point);
///       f.point(tr.from_lonlat(lon, lat));
///       f.property("type", "ambush").property("fatalities", 3);
///       f.commit();                                        // dropped if not committed
///   }
///   std::string pbf = tile.serialize();                    // empty string if no features
/// ```
///
/// What it does for you: keys and values de-duplicated per layer; consecutive duplicate points
/// dropped from lines and rings; lines with fewer than 2 distinct points and rings with fewer
/// than 3 distinct points or zero area dropped (a dropped exterior takes its holes with it);
/// rings re-oriented so that exteriors have positive area by the spec's surveyor's formula in
/// tile coordinates (clockwise on screen, y down) and holes negative; features left without
/// geometry and layers left without features are not written.
///
/// What it does not do: clipping, simplification, validity repair (self-intersections), gzip.
/// Geometry is given in integer tile coordinates; see geo/tile.hpp TileTransform.

#include "geo/tile.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace sitmap::geo::mvt {

/// The geometry type of a feature (Tile.GeomType in the spec).
enum class GeomType : std::uint32_t { Unknown = 0, Point = 1, LineString = 2, Polygon = 3 };

class LayerBuilder;

/// A property key: a name, or a key registered on the layer beforehand with LayerBuilder::key(),
/// which spares a dictionary lookup per feature.
class PropertyKey {
public:
    PropertyKey(std::string_view name) noexcept : m_name(name) {}  // NOLINT: implicit on purpose
    PropertyKey(const char* name) noexcept : m_name(name) {}       // NOLINT
    PropertyKey(const std::string& name) noexcept : m_name(name) {}  // NOLINT

private:
    friend class LayerBuilder;
    friend class FeatureBuilder;
    PropertyKey(std::string_view name, std::uint32_t index) noexcept : m_name(name), m_index(index) {}
    std::string_view m_name;
    std::optional<std::uint32_t> m_index;
};

/// Builds one feature of a layer. Obtained from LayerBuilder::feature(); add geometry and
/// properties, then commit(). A FeatureBuilder destroyed without commit() leaves no trace in
/// the layer. Only one FeatureBuilder per layer may be open at a time. Not copyable or movable:
/// keep it on the stack, `auto f = layer.feature(...)`.
///
/// Geometry calls must match the feature's type (checked by assert):
/// Point -> point()/points(); LineString -> line(); Polygon -> polygon()/ring().
class FeatureBuilder {
public:
    FeatureBuilder(const FeatureBuilder&) = delete;
    FeatureBuilder& operator=(const FeatureBuilder&) = delete;
    FeatureBuilder(FeatureBuilder&&) = delete;
    FeatureBuilder& operator=(FeatureBuilder&&) = delete;
    ~FeatureBuilder();

    /// Adds a point (Point features; several calls make a multipoint, one MoveTo with a count).
    FeatureBuilder& point(TilePoint p);
    FeatureBuilder& point(std::int32_t x, std::int32_t y) { return point(TilePoint{x, y}); }
    /// Adds several points (Point features).
    FeatureBuilder& points(std::span<const TilePoint> pts);

    /// Adds a linestring (LineString features; several calls make a multilinestring). Consecutive
    /// duplicate points are dropped; a line left with fewer than 2 points is skipped.
    FeatureBuilder& line(std::span<const TilePoint> pts);
    FeatureBuilder& line(std::initializer_list<TilePoint> pts) {
        return line(std::span<const TilePoint>(pts.begin(), pts.size()));
    }

    /// Starts a new polygon of a (multi)polygon feature: the next ring() is its exterior.
    /// The first ring of a feature is an exterior without calling this.
    FeatureBuilder& polygon();

    /// Adds a ring (Polygon features), open or closed (a last point equal to the first is
    /// ignored), in either winding: the first ring after polygon() (or the feature's first ring)
    /// is written as the exterior, the others as holes of it. Consecutive duplicate points are
    /// dropped; a ring with fewer than 3 distinct points or zero area is skipped, and if it was an
    /// exterior its holes are skipped too.
    FeatureBuilder& ring(std::span<const TilePoint> pts);
    FeatureBuilder& ring(std::initializer_list<TilePoint> pts) {
        return ring(std::span<const TilePoint>(pts.begin(), pts.size()));
    }

    /// Adds a property. Keys and values are de-duplicated per layer. Strings are stored as
    /// string_value, signed integers as int_value (>= 0) or sint_value (< 0), unsigned integers
    /// as uint_value, double as double_value, float as float_value, bool as bool_value.
    /// Adding a key the feature already has replaces its value (the spec allows each key once).
    FeatureBuilder& property(PropertyKey key, std::string_view value);
    FeatureBuilder& property(PropertyKey key, const char* value) {
        return property(key, std::string_view(value));
    }
    FeatureBuilder& property(PropertyKey key, const std::string& value) {
        return property(key, std::string_view(value));
    }
    FeatureBuilder& property(PropertyKey key, bool value);
    FeatureBuilder& property(PropertyKey key, double value);
    FeatureBuilder& property(PropertyKey key, float value);
    template <typename T>
        requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
    FeatureBuilder& property(PropertyKey key, T value) {
        if constexpr (std::is_signed_v<T>) {
            return property_int(key, static_cast<std::int64_t>(value));
        } else {
            return property_uint(key, static_cast<std::uint64_t>(value));
        }
    }

    /// The layer's index of the value the last property() call added (for property(key, index)).
    /// It stays valid for the layer as long as this feature is committed, not rolled back.
    [[nodiscard]] std::uint32_t last_value_index() const noexcept { return m_last_value; }

    /// Adds a property whose value the layer already holds: an index from last_value_index() of
    /// a committed feature of the same layer. Spares encoding and looking up the value again.
    FeatureBuilder& property_at(PropertyKey key, std::uint32_t value_index);

    /// True when the feature has geometry that commit() would write.
    [[nodiscard]] bool has_geometry() const noexcept;

    /// Writes the feature into the layer. Returns false (and writes nothing) when all its
    /// geometry was dropped as degenerate. Calling it twice is an error (assert).
    bool commit();

    /// Forgets the feature (also done by the destructor when commit() did not run).
    void rollback() noexcept;

private:
    friend class LayerBuilder;
    FeatureBuilder(LayerBuilder& layer, std::optional<std::uint64_t> id, GeomType type) noexcept;

    FeatureBuilder& property_int(PropertyKey key, std::int64_t value);
    FeatureBuilder& property_uint(PropertyKey key, std::uint64_t value);
    void add_tag(PropertyKey key, std::string_view encoded_value);
    void move_to(TilePoint p, std::uint32_t count);
    void param(TilePoint p);

    LayerBuilder* m_layer;
    std::optional<std::uint64_t> m_id;
    GeomType m_type;
    bool m_open = true;
    bool m_next_is_exterior = true; // the next ring() starts a polygon
    bool m_skip_holes = false;      // the current polygon's exterior was dropped
    TilePoint m_cursor{};           // the spec's cursor, shared by all parts of the feature
    std::size_t m_key_mark;         // layer key/value counts when the feature began, for rollback
    std::size_t m_value_mark;
    std::uint32_t m_last_value = 0;
};

/// Builds one layer of a tile. Owned by its TileBuilder; get it from TileBuilder::add_layer().
/// Buffers are reused from feature to feature, so building a feature allocates only while the
/// buffers grow and when a new key or value is met.
class LayerBuilder {
public:
    LayerBuilder(std::string_view name, std::uint32_t extent);
    LayerBuilder(const LayerBuilder&) = delete;
    LayerBuilder& operator=(const LayerBuilder&) = delete;

    /// Opens a feature with an id (MVT ids are unsigned 64-bit).
    [[nodiscard]] FeatureBuilder feature(std::uint64_t id, GeomType type) noexcept {
        return FeatureBuilder(*this, id, type);
    }
    /// Opens a feature without an id.
    [[nodiscard]] FeatureBuilder feature(GeomType type) noexcept { return FeatureBuilder(*this, std::nullopt, type); }

    /// Registers a key for the properties of the features to come (call it while no feature is
    /// open). The key is written with the layer even if no feature uses it; `name` must outlive
    /// the returned PropertyKey.
    [[nodiscard]] PropertyKey key(std::string_view name);

    [[nodiscard]] const std::string& name() const noexcept { return m_name; }
    [[nodiscard]] std::uint32_t extent() const noexcept { return m_extent; }
    /// Number of features committed so far.
    [[nodiscard]] std::size_t feature_count() const noexcept { return m_feature_count; }
    [[nodiscard]] bool empty() const noexcept { return m_feature_count == 0; }
    /// Number of distinct keys / values so far.
    [[nodiscard]] std::size_t key_count() const noexcept { return m_key_order.size(); }
    [[nodiscard]] std::size_t value_count() const noexcept { return m_value_order.size(); }

    /// Appends this layer as a Tile.layers field (tag 3) to out; writes nothing when empty.
    void serialize_to(std::string& out) const;

private:
    friend class FeatureBuilder;

    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using Index = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

    std::uint32_t key_index(std::string_view key);
    std::uint32_t value_index(std::string_view encoded_value);
    void truncate_dictionaries(std::size_t keys, std::size_t values) noexcept;
    void reset_scratch() noexcept;

    std::string m_name;
    std::uint32_t m_extent;
    std::size_t m_feature_count = 0;
    std::string m_features;                         // encoded Layer.features fields (tag 2)
    Index m_keys;                                   // key -> index
    Index m_values;                                 // encoded Value message -> index
    std::vector<const std::string*> m_key_order;    // index -> key (map nodes are stable)
    std::vector<const std::string*> m_value_order;  // index -> encoded Value
    // Scratch reused by every feature.
    std::vector<std::uint32_t> m_tags;
    std::vector<std::uint32_t> m_geometry;
    std::vector<TilePoint> m_points;  // pending points of a Point feature
    std::vector<TilePoint> m_ring;    // a line or ring after dropping duplicates
    std::string m_value_scratch;
    bool m_feature_open = false;
};

/// Builds a whole tile: layers in the order added.
class TileBuilder {
public:
    TileBuilder() = default;
    TileBuilder(const TileBuilder&) = delete;
    TileBuilder& operator=(const TileBuilder&) = delete;

    /// Adds a layer (MVT version 2). The reference stays valid as long as the TileBuilder.
    /// Throws sitmap::input_error for an empty name, a name already used in this tile, or extent 0.
    LayerBuilder& add_layer(std::string_view name, std::uint32_t extent = default_extent);

    /// True when no layer has a feature (serialize() would return an empty string).
    [[nodiscard]] bool empty() const noexcept;

    /// The encoded tile (uncompressed protobuf). Layers without features are omitted, so an
    /// empty tile is an empty string.
    [[nodiscard]] std::string serialize() const;
    /// Appends the encoded tile to out.
    void serialize_to(std::string& out) const;

private:
    std::deque<LayerBuilder> m_layers; // deque: references handed out stay valid
};

} // namespace sitmap::geo::mvt
