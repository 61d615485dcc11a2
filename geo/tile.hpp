#pragma once
/// Web Mercator (EPSG:3857) tile math: tile ids, lon/lat <-> mercator metres, tile bounds,
/// tile ranges, and the per-vertex transform into integer MVT tile coordinates.
///
/// Conventions: lon/lat in degrees (EPSG:4326, lon first); mercator x/y in metres on a sphere of
/// radius 6378137 m; tiles in the XYZ scheme (origin top-left, y grows southwards); tile
/// coordinates are integers with y down, 0..extent inside the tile.

#include "geo/lonlat.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

namespace sitmap::geo {

/// Sphere radius of EPSG:3857, metres.
inline constexpr double earth_radius = 6378137.0;
/// Half the side of the mercator square, metres (pi * R = 20037508.342789244).
inline constexpr double mercator_half_size = std::numbers::pi * earth_radius;
/// Latitude at which the mercator square ends, degrees (atan(sinh(pi))).
inline constexpr double max_latitude = 85.0511287798;
/// Deepest zoom level accepted by TileId.
inline constexpr int max_zoom = 24;
/// The usual MVT extent, tile coordinate units per tile side.
inline constexpr std::uint32_t default_extent = 4096;

/// A position in EPSG:3857 metres.
struct Mercator {
    double x = 0.0;
    double y = 0.0;
};

/// An axis-aligned box (lon/lat degrees or mercator metres, depending on where it comes from).
struct BBox {
    double min_x = 0.0;
    double min_y = 0.0;
    double max_x = 0.0;
    double max_y = 0.0;

    /// True when the point lies inside or on the edge of the box.
    [[nodiscard]] bool contains(double x, double y) const noexcept {
        return x >= min_x && x <= max_x && y >= min_y && y <= max_y;
    }
    /// True when the boxes overlap or touch.
    [[nodiscard]] bool intersects(const BBox& o) const noexcept {
        return min_x <= o.max_x && o.min_x <= max_x && min_y <= o.max_y && o.min_y <= max_y;
    }
};

/// An integer position in tile coordinates (y down, 0..extent inside the tile).
struct TilePoint {
    std::int32_t x = 0;
    std::int32_t y = 0;

    friend bool operator==(const TilePoint&, const TilePoint&) = default;
};

/// A tile of the XYZ scheme. Aggregate so it can be built with `TileId{z, x, y}`; call
/// validate() (or build it with make()) before trusting it.
struct TileId {
    int z = 0;
    std::uint32_t x = 0;
    std::uint32_t y = 0;

    /// Builds a tile id from untrusted numbers (e.g. a URL).
    /// Throws sitmap::input_error unless 0 <= z <= 24 and 0 <= x, y < 2^z.
    static TileId make(long long z, long long x, long long y);

    /// Throws sitmap::input_error unless 0 <= z <= 24 and x, y < 2^z.
    void validate() const;

    /// True when validate() would not throw.
    [[nodiscard]] bool valid() const noexcept {
        return z >= 0 && z <= max_zoom && x < (std::uint64_t{1} << z) && y < (std::uint64_t{1} << z);
    }

    /// Number of tiles along one side at this zoom (2^z).
    [[nodiscard]] std::uint32_t tiles_per_side() const noexcept { return std::uint32_t{1} << z; }

    /// "z/x/y", for messages and URLs.
    [[nodiscard]] std::string to_string() const;

    friend bool operator==(const TileId&, const TileId&) = default;
};

/// Side length of a tile at zoom z, mercator metres.
inline double tile_size_mercator(int z) noexcept {
    return 2.0 * mercator_half_size / static_cast<double>(std::uint64_t{1} << z);
}

/// Clamps a latitude to the mercator square, degrees.
inline double clamp_latitude(double lat) noexcept {
    return std::clamp(lat, -max_latitude, max_latitude);
}

/// lon/lat degrees -> EPSG:3857 metres. Latitude is clamped to +-85.0511287798; longitude is
/// not wrapped (lon 190 gives x beyond the square).
inline Mercator lonlat_to_mercator(double lon, double lat) noexcept {
    constexpr double to_rad = std::numbers::pi / 180.0;
    const double phi = clamp_latitude(lat) * to_rad;
    return {earth_radius * lon * to_rad, earth_radius * std::log(std::tan(std::numbers::pi / 4.0 + phi / 2.0))};
}

/// EPSG:3857 metres -> lon/lat degrees (the exact inverse of lonlat_to_mercator inside the square).
inline LonLat mercator_to_lonlat(double x, double y) noexcept {
    constexpr double to_deg = 180.0 / std::numbers::pi;
    return {x / earth_radius * to_deg, std::atan(std::sinh(y / earth_radius)) * to_deg};
}

/// Bounds of a tile in EPSG:3857 metres, grown on every side by buffer_pixels units of a tile
/// of `extent` units (e.g. 64 of 4096). Throws sitmap::input_error for an invalid tile.
BBox tile_bounds_mercator(const TileId& tile, double buffer_pixels = 0.0, std::uint32_t extent = default_extent);

/// Bounds of a tile in lon/lat degrees, with the same buffer as tile_bounds_mercator. A buffer
/// may reach past +-180 degrees of longitude (not wrapped) and past the mercator latitude limit.
/// Throws sitmap::input_error for an invalid tile.
BBox tile_bounds_lonlat(const TileId& tile, double buffer_pixels = 0.0, std::uint32_t extent = default_extent);

/// The tile containing a lon/lat position at zoom z. Points on a tile edge belong to the tile
/// east/south of it; lon 180 and latitudes beyond the mercator limit go to the last column/row.
/// Throws sitmap::input_error for a bad zoom or a non-finite coordinate.
TileId lonlat_to_tile(double lon, double lat, int z);

/// An inclusive rectangle of tiles at one zoom.
struct TileRange {
    int z = 0;
    std::uint32_t min_x = 0;
    std::uint32_t min_y = 0;
    std::uint32_t max_x = 0;
    std::uint32_t max_y = 0;

    /// Number of tiles in the range.
    [[nodiscard]] std::uint64_t count() const noexcept {
        return std::uint64_t{max_x - min_x + 1} * std::uint64_t{max_y - min_y + 1};
    }
    /// True when the tile is at this zoom and inside the range.
    [[nodiscard]] bool contains(const TileId& t) const noexcept {
        return t.z == z && t.x >= min_x && t.x <= max_x && t.y >= min_y && t.y <= max_y;
    }
    /// Calls f(TileId) for every tile, row by row.
    template <typename F>
    void for_each(F&& f) const {
        for (std::uint32_t ty = min_y; ty <= max_y; ++ty) {
            for (std::uint32_t tx = min_x; tx <= max_x; ++tx) {
                f(TileId{z, tx, ty});
            }
        }
    }
};

/// The tiles at zoom z whose interior meets a lon/lat bbox (a bbox edge lying exactly on a tile
/// edge does not pull in the neighbour; a degenerate bbox still yields its one tile). The bbox is
/// clamped to the mercator square. Throws sitmap::input_error for a bad zoom, a non-finite
/// coordinate, or min > max.
TileRange tiles_covering(const BBox& lonlat_bbox, int z);

/// Maps lon/lat or mercator positions to integer tile coordinates of one tile: (0,0) is the
/// top-left (north-west) corner, (extent, extent) the bottom-right; y grows southwards.
/// Values are rounded to the nearest integer and clamped to +-(2^30 - 1) so that deltas between
/// any two of them fit the 32-bit MVT parameters. Cheap to copy; all hot functions are inline.
class TileTransform {
public:
    /// Throws sitmap::input_error for an invalid tile or an extent of 0.
    explicit TileTransform(const TileId& tile, std::uint32_t extent = default_extent);

    /// Mercator metres -> fractional tile coordinates (not rounded, not clamped).
    [[nodiscard]] double tile_x(double mx) const noexcept { return (mx - m_min_x) * m_scale; }
    [[nodiscard]] double tile_y(double my) const noexcept { return (m_max_y - my) * m_scale; }

    /// Mercator metres -> integer tile coordinates.
    [[nodiscard]] TilePoint from_mercator(double mx, double my) const noexcept {
        return {to_int(tile_x(mx)), to_int(tile_y(my))};
    }

    /// lon/lat degrees -> integer tile coordinates (latitude clamped to the mercator square).
    [[nodiscard]] TilePoint from_lonlat(double lon, double lat) const noexcept {
        const Mercator m = lonlat_to_mercator(lon, lat);
        return from_mercator(m.x, m.y);
    }

    /// Integer tile coordinates -> mercator metres (for tests and debugging).
    [[nodiscard]] Mercator to_mercator(TilePoint p) const noexcept {
        return {m_min_x + p.x / m_scale, m_max_y - p.y / m_scale};
    }

    [[nodiscard]] const TileId& tile() const noexcept { return m_tile; }
    [[nodiscard]] std::uint32_t extent() const noexcept { return m_extent; }

private:
    static std::int32_t to_int(double v) noexcept {
        constexpr double limit = 1073741823.0; // 2^30 - 1
        // NaN compares false both ways and would reach the cast; map it to 0.
        if (!(v > -limit)) {
            return v != v ? 0 : -static_cast<std::int32_t>(limit);
        }
        if (v > limit) {
            return static_cast<std::int32_t>(limit);
        }
        return static_cast<std::int32_t>(std::floor(v + 0.5));
    }

    TileId m_tile;
    std::uint32_t m_extent;
    double m_min_x; // west edge, mercator metres
    double m_max_y; // north edge, mercator metres
    double m_scale; // tile units per metre
};

} // namespace sitmap::geo
