#pragma once
/// The values one column takes, for the in-memory incident index (layers/incident_index.hpp):
/// each point holds a 32-bit index into its column's dictionary. Values are stored once while a
/// column has few of them (type, status, source, cercle) and as met once it has many (ids, times),
/// which costs their bytes plus 9 bytes each.

#include "geo/sqlite.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace sitmap::layers {

/// A column value copied out of a result row (what SQLite stored: NULL, integer, real or text).
using RowValue = std::variant<std::monostate, std::int64_t, double, std::string>;

/// Reads column `column` of the current row; `as_text` reads it as text whatever its type.
RowValue read_row_value(const geo::Statement& stmt, int column, bool as_text = false);

class ValueDictionary {
public:
    enum class Kind : std::uint8_t { null, integer, real, text };

    /// The index of `value`, added when new (or when the column has too many values to look up).
    std::uint32_t add(const RowValue& value);

    /// Appends value `id` of `other` without looking it up (to lay a column of unique values out
    /// in the order the points are read, so a tile reads its values from consecutive memory).
    std::uint32_t append_from(const ValueDictionary& other, std::uint32_t id);

    /// An empty dictionary that does not look values up (each add() appends).
    static ValueDictionary unique();

    Kind kind(std::uint32_t id) const noexcept { return m_kinds[id]; }
    std::int64_t integer(std::uint32_t id) const noexcept;
    double real(std::uint32_t id) const noexcept;
    std::string_view text(std::uint32_t id) const noexcept;

    std::size_t size() const noexcept { return m_kinds.size(); }
    /// True while every value is stored once (the column has few values).
    bool deduplicated() const noexcept { return m_looking_up; }
    std::size_t memory_bytes() const noexcept;

private:
    /// Beyond this many values a column is taken as unique per row: no more look-ups.
    static constexpr std::size_t max_looked_up = std::size_t{1} << 16U;

    std::uint32_t append(const RowValue& value);

    std::vector<Kind> m_kinds;
    std::vector<std::uint64_t> m_values;  // integer or real bits, or text offset << 32 | length
    std::string m_text;                   // the texts, end to end
    std::unordered_map<std::string, std::uint32_t> m_lookup;  // kind + bytes -> index, while looked up
    bool m_looking_up = true;
};

} // namespace sitmap::layers
