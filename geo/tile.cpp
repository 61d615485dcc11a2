#include "geo/tile.hpp"

#include "geo/error.hpp"

#include <cmath>
#include <string>

namespace sitmap::geo {

namespace {

void check_zoom(long long z) {
    if (z < 0 || z > max_zoom) {
        throw input_error("tile zoom " + std::to_string(z) + " is out of range 0.." + std::to_string(max_zoom));
    }
}

void check_finite(double v, const char* what) {
    if (!std::isfinite(v)) {
        throw input_error(std::string("tile math: ") + what + " is not a finite number");
    }
}

/// Fractional tile column of a longitude at zoom z (0..2^z inside the square).
double tile_fx(double lon, int z) {
    const double n = static_cast<double>(std::uint64_t{1} << z);
    return (lon + 180.0) / 360.0 * n;
}

/// Fractional tile row of a latitude at zoom z (0 at the north edge, 2^z at the south edge).
double tile_fy(double lat, int z) {
    const double n = static_cast<double>(std::uint64_t{1} << z);
    const Mercator m = lonlat_to_mercator(0.0, lat);
    return (mercator_half_size - m.y) / (2.0 * mercator_half_size) * n;
}

std::uint32_t clamp_index(double f, int z) {
    const double last = static_cast<double>((std::uint64_t{1} << z) - 1);
    return static_cast<std::uint32_t>(std::clamp(f, 0.0, last));
}

} // namespace

TileId TileId::make(long long z, long long x, long long y) {
    check_zoom(z);
    const long long n = 1LL << z;
    if (x < 0 || x >= n || y < 0 || y >= n) {
        throw input_error("tile " + std::to_string(z) + "/" + std::to_string(x) + "/" + std::to_string(y) +
                          " does not exist: x and y must be in 0.." + std::to_string(n - 1) + " at zoom " +
                          std::to_string(z));
    }
    return TileId{static_cast<int>(z), static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y)};
}

void TileId::validate() const {
    make(z, x, y);
}

std::string TileId::to_string() const {
    return std::to_string(z) + "/" + std::to_string(x) + "/" + std::to_string(y);
}

BBox tile_bounds_mercator(const TileId& tile, double buffer_pixels, std::uint32_t extent) {
    tile.validate();
    if (extent == 0) {
        throw input_error("tile bounds: extent must be positive");
    }
    const double size = tile_size_mercator(tile.z);
    const double buffer = buffer_pixels / static_cast<double>(extent) * size;
    const double min_x = -mercator_half_size + static_cast<double>(tile.x) * size;
    const double max_y = mercator_half_size - static_cast<double>(tile.y) * size;
    return {min_x - buffer, max_y - size - buffer, min_x + size + buffer, max_y + buffer};
}

BBox tile_bounds_lonlat(const TileId& tile, double buffer_pixels, std::uint32_t extent) {
    const BBox m = tile_bounds_mercator(tile, buffer_pixels, extent);
    const LonLat sw = mercator_to_lonlat(m.min_x, m.min_y);
    const LonLat ne = mercator_to_lonlat(m.max_x, m.max_y);
    return {sw.lon, sw.lat, ne.lon, ne.lat};
}

TileId lonlat_to_tile(double lon, double lat, int z) {
    check_zoom(z);
    check_finite(lon, "longitude");
    check_finite(lat, "latitude");
    return TileId{z, clamp_index(std::floor(tile_fx(lon, z)), z), clamp_index(std::floor(tile_fy(lat, z)), z)};
}

TileRange tiles_covering(const BBox& b, int z) {
    check_zoom(z);
    check_finite(b.min_x, "bbox min longitude");
    check_finite(b.min_y, "bbox min latitude");
    check_finite(b.max_x, "bbox max longitude");
    check_finite(b.max_y, "bbox max latitude");
    if (b.min_x > b.max_x || b.min_y > b.max_y) {
        throw input_error("tile range: bbox minimum is greater than its maximum");
    }
    TileRange r;
    r.z = z;
    // The north edge (max lat) gives the smallest row.
    r.min_x = clamp_index(std::floor(tile_fx(b.min_x, z)), z);
    r.min_y = clamp_index(std::floor(tile_fy(b.max_y, z)), z);
    // ceil - 1 so that a max edge exactly on a tile boundary stays in the tile before it.
    r.max_x = std::max(r.min_x, clamp_index(std::ceil(tile_fx(b.max_x, z)) - 1.0, z));
    r.max_y = std::max(r.min_y, clamp_index(std::ceil(tile_fy(b.min_y, z)) - 1.0, z));
    return r;
}

TileTransform::TileTransform(const TileId& tile, std::uint32_t extent)
    : m_tile(tile), m_extent(extent) {
    tile.validate();
    if (extent == 0) {
        throw input_error("tile transform: extent must be positive");
    }
    const double size = tile_size_mercator(tile.z);
    m_min_x = -mercator_half_size + static_cast<double>(tile.x) * size;
    m_max_y = mercator_half_size - static_cast<double>(tile.y) * size;
    m_scale = static_cast<double>(extent) / size;
}

} // namespace sitmap::geo
