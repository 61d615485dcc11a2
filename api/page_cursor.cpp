#include "api/page_cursor.hpp"

#include "geo/error.hpp"

#include <bit>
#include <charconv>
#include <cmath>

namespace sitmap::server {

namespace {

// Text: "f<fid>.<position>" or "r<key as 16 hex digits of its bits>.<fid>.<position>", then "-"
// and 8 hex digits of a check over that text. The check is no secret: it tells a mangled cursor from one this server
// wrote; a forged one can only choose where a page starts, which `offset` allows anyway.
std::uint32_t check_of(std::string_view payload) {
    std::uint32_t hash = 2166136261U;  // FNV-1a
    for (const char c : std::string_view("sitmap-cursor:")) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619U;
    for (const char c : payload) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619U;
    return hash;
}

template <typename T>
std::string to_text(T value, int base = 10) {
    char text[24];
    return {text, std::to_chars(text, text + sizeof text, value, base).ptr};
}

template <typename T>
bool from_text(std::string_view text, T& value, int base = 10) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

[[noreturn]] void refuse() {
    throw input_error("cursor: not a cursor this server gave; follow a page's next link as it is, or start again "
                      "without cursor");
}

} // namespace

std::string encode_cursor(const PageCursor& cursor) {
    std::string payload;
    if (cursor.kind == PageCursor::Kind::fid) {
        payload = "f" + to_text(cursor.fid) + "." + to_text(cursor.position);
    } else {
        std::string bits = to_text(std::bit_cast<std::uint64_t>(cursor.key), 16);
        payload = "r" + std::string(16 - bits.size(), '0') + bits + "." + to_text(cursor.fid) + "." +
                  to_text(cursor.position);
    }
    std::string check = to_text(check_of(payload), 16);
    return payload + "-" + std::string(8 - check.size(), '0') + check;
}

PageCursor decode_cursor(std::string_view text) {
    const auto dash = text.rfind('-');
    if (dash == std::string_view::npos || text.size() - dash != 9 || text.size() > 64) refuse();
    const std::string_view payload = text.substr(0, dash);
    std::uint32_t check = 0;
    if (!from_text(text.substr(dash + 1), check, 16) || check != check_of(payload) || payload.empty()) refuse();
    PageCursor cursor;
    const auto last_dot = payload.rfind('.');
    if (last_dot == std::string_view::npos || last_dot == 0 ||
        !from_text(payload.substr(last_dot + 1), cursor.position) || cursor.position < 0) {
        refuse();
    }
    const std::string_view key = payload.substr(0, last_dot);
    if (key[0] == 'f') {
        if (!from_text(key.substr(1), cursor.fid) || cursor.fid < 0) refuse();
        return cursor;
    }
    const auto dot = key.find('.');
    std::uint64_t bits = 0;
    if (key[0] != 'r' || dot != 17 || !from_text(key.substr(1, 16), bits, 16) ||
        !from_text(key.substr(dot + 1), cursor.fid) || cursor.fid < 0) {
        refuse();
    }
    cursor.kind = PageCursor::Kind::ranked;
    cursor.key = std::bit_cast<double>(bits);
    if (!std::isfinite(cursor.key)) refuse();
    return cursor;
}

} // namespace sitmap::server
