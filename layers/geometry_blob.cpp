#include "layers/geometry_blob.hpp"

#include "layers/json_text.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sitmap::layers {

namespace {

// SpatiaLite BLOB-Geometry: 0x00, byte order (1: little endian), SRID (int32), MBR (4 doubles),
// 0x7C, class (int32), the class's data, 0xFE. Collections hold entities: 0x69, class, data.
constexpr std::size_t class_offset = 39;
constexpr unsigned char mbr_end = 0x7C, entity_mark = 0x69, blob_end = 0xFE;
enum Class : std::int32_t { point = 1, linestring = 2, polygon = 3, multipoint = 4, multilinestring = 5, multipolygon = 6 };

/// Reads the blob's values in order, with bounds checks.
class Reader {
public:
    Reader(std::string_view blob, bool swap) : m_blob(blob), m_swap(swap) {}

    bool int32(std::int32_t& value) { return read(value); }
    bool count(std::int32_t& value) { return read(value) && value >= 0; }
    bool byte(unsigned char& value) { return read(value); }
    bool at_end() const { return m_at == m_blob.size() - 1; }

    /// `n` points as [x,y] pairs separated by commas.
    bool points(std::string& out, std::int32_t n) {
        if (m_blob.size() - 1 - m_at < static_cast<std::size_t>(n) * 16) return false;
        for (std::int32_t i = 0; i < n; ++i) {
            double x = 0, y = 0;
            read(x);
            read(y);
            if (!std::isfinite(x) || !std::isfinite(y)) return false;  // SpatiaLite writes nan, inf
            if (i) out += ',';
            out += '[';
            json_text::append_coordinate(out, x);
            out += ',';
            json_text::append_coordinate(out, y);
            out += ']';
        }
        return true;
    }

private:
    template <typename T>
    bool read(T& value) {
        if (m_blob.size() - 1 - m_at < sizeof(T)) return false;  // the end mark is not data
        unsigned char raw[sizeof(T)];
        std::memcpy(raw, m_blob.data() + m_at, sizeof(T));
        if (m_swap) std::reverse(std::begin(raw), std::end(raw));
        std::memcpy(&value, raw, sizeof(T));
        m_at += sizeof(T);
        return true;
    }

    std::string_view m_blob;
    bool m_swap;
    std::size_t m_at = class_offset;
};

bool linestring_coordinates(Reader& r, std::string& out) {
    std::int32_t n = 0;
    if (!r.count(n) || n == 0) return false;
    out += '[';
    if (!r.points(out, n)) return false;
    out += ']';
    return true;
}

bool polygon_coordinates(Reader& r, std::string& out) {
    std::int32_t rings = 0;
    if (!r.count(rings) || rings == 0) return false;
    out += '[';
    for (std::int32_t i = 0; i < rings; ++i) {
        if (i) out += ',';
        if (!linestring_coordinates(r, out)) return false;
    }
    out += ']';
    return true;
}

bool point_coordinates(Reader& r, std::string& out) { return r.points(out, 1); }

/// The coordinates of a collection whose entities are all of class `part`.
bool multi_coordinates(Reader& r, std::string& out, std::int32_t part) {
    std::int32_t n = 0;
    if (!r.count(n) || n == 0) return false;
    out += '[';
    for (std::int32_t i = 0; i < n; ++i) {
        unsigned char mark = 0;
        std::int32_t cls = 0;
        if (!r.byte(mark) || mark != entity_mark || !r.int32(cls) || cls != part) return false;
        if (i) out += ',';
        const bool ok = part == point ? point_coordinates(r, out)
                        : part == linestring ? linestring_coordinates(r, out)
                                             : polygon_coordinates(r, out);
        if (!ok) return false;
    }
    out += ']';
    return true;
}

} // namespace

bool append_geojson_geometry(std::string& out, std::string_view blob) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data());
    if (blob.size() < class_offset + 5 || bytes[0] != 0x00 || bytes[1] > 1 || bytes[38] != mbr_end ||
        bytes[blob.size() - 1] != blob_end) {
        return false;
    }
    const bool swap = (bytes[1] == 1) != (std::endian::native == std::endian::little);
    Reader r(blob, swap);
    std::int32_t cls = 0;
    r.int32(cls);
    const std::size_t start = out.size();
    bool ok = false;
    switch (cls) {
        case point: out += R"({"type":"Point","coordinates":)"; ok = point_coordinates(r, out); break;
        case linestring: out += R"({"type":"LineString","coordinates":)"; ok = linestring_coordinates(r, out); break;
        case polygon: out += R"({"type":"Polygon","coordinates":)"; ok = polygon_coordinates(r, out); break;
        case multipoint: out += R"({"type":"MultiPoint","coordinates":)"; ok = multi_coordinates(r, out, point); break;
        case multilinestring:
            out += R"({"type":"MultiLineString","coordinates":)";
            ok = multi_coordinates(r, out, linestring);
            break;
        case multipolygon:
            out += R"({"type":"MultiPolygon","coordinates":)";
            ok = multi_coordinates(r, out, polygon);
            break;
        default: break;
    }
    if (!ok || !r.at_end()) {
        out.resize(start);
        return false;
    }
    out += '}';
    return true;
}

} // namespace sitmap::layers
