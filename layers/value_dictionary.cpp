#include "layers/value_dictionary.hpp"

#include "geo/error.hpp"

#include <sqlite3.h>

#include <bit>
#include <cstring>

namespace sitmap::layers {

RowValue read_row_value(const geo::Statement& stmt, int column, bool as_text) {
    if (as_text) return std::string(stmt.column_text(column));
    switch (stmt.column_type(column)) {
        case SQLITE_NULL: return std::monostate{};
        case SQLITE_INTEGER: return stmt.column_int64(column);
        case SQLITE_FLOAT: return stmt.column_double(column);
        default: return std::string(stmt.column_text(column));
    }
}

std::uint32_t ValueDictionary::add(const RowValue& value) {
    if (!m_looking_up) return append(value);
    std::string key(1, static_cast<char>(value.index()));
    if (const auto* text = std::get_if<std::string>(&value)) {
        key += *text;
    } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        key.append(reinterpret_cast<const char*>(integer), sizeof *integer);
    } else if (const auto* real = std::get_if<double>(&value)) {
        key.append(reinterpret_cast<const char*>(real), sizeof *real);
    }
    if (const auto found = m_lookup.find(key); found != m_lookup.end()) return found->second;
    const std::uint32_t id = append(value);
    if (m_lookup.size() >= max_looked_up) {
        m_lookup = {};  // a column of (nearly) unique values: each row keeps its own
        m_looking_up = false;
    } else {
        m_lookup.emplace(std::move(key), id);
    }
    return id;
}

std::uint32_t ValueDictionary::append(const RowValue& value) {
    if (m_kinds.size() >= UINT32_MAX) throw internal_error("incident index: more than 2^32 values in a column");
    const auto id = static_cast<std::uint32_t>(m_kinds.size());
    std::uint64_t bits = 0;
    Kind kind = Kind::null;
    if (const auto* text = std::get_if<std::string>(&value)) {
        if (m_text.size() + text->size() > UINT32_MAX) throw internal_error("incident index: more than 4 GB of text in a column");
        bits = (static_cast<std::uint64_t>(m_text.size()) << 32U) | text->size();
        m_text += *text;
        kind = Kind::text;
    } else if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        bits = static_cast<std::uint64_t>(*integer);
        kind = Kind::integer;
    } else if (const auto* real = std::get_if<double>(&value)) {
        bits = std::bit_cast<std::uint64_t>(*real);
        kind = Kind::real;
    }
    m_kinds.push_back(kind);
    m_values.push_back(bits);
    return id;
}

std::uint32_t ValueDictionary::append_from(const ValueDictionary& other, std::uint32_t id) {
    switch (other.kind(id)) {
        case Kind::null: return append(std::monostate{});
        case Kind::integer: return append(other.integer(id));
        case Kind::real: return append(other.real(id));
        case Kind::text: return append(std::string(other.text(id)));
    }
    return append(std::monostate{});
}

ValueDictionary ValueDictionary::unique() {
    ValueDictionary dictionary;
    dictionary.m_looking_up = false;
    return dictionary;
}

std::int64_t ValueDictionary::integer(std::uint32_t id) const noexcept {
    return static_cast<std::int64_t>(m_values[id]);
}

double ValueDictionary::real(std::uint32_t id) const noexcept {
    return std::bit_cast<double>(m_values[id]);
}

std::string_view ValueDictionary::text(std::uint32_t id) const noexcept {
    if (m_kinds[id] != Kind::text) return {};
    const std::uint64_t bits = m_values[id];
    return std::string_view(m_text).substr(bits >> 32U, bits & 0xFFFFFFFFU);
}

std::size_t ValueDictionary::memory_bytes() const noexcept {
    std::size_t bytes = m_kinds.capacity() + m_values.capacity() * sizeof(std::uint64_t) + m_text.capacity();
    for (const auto& [key, id] : m_lookup) bytes += key.capacity() + 48;  // node, hash, bucket: a fair estimate
    return bytes;
}

} // namespace sitmap::layers
