#include "layers/values.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace sitmap::layers {

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t count) {
    if (pos + count > s.size()) return false;
    for (std::size_t i = pos; i < pos + count; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

int number(std::string_view s, std::size_t pos, std::size_t count) {
    int n = 0;
    for (std::size_t i = pos; i < pos + count; ++i) n = n * 10 + (s[i] - '0');
    return n;
}

struct Parts {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    int offset_minutes = 0;
};

std::optional<std::string> format(Parts p, bool with_time) {
    if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > 31 || p.hour > 23 || p.minute > 59 ||
        p.second > 60 || p.year < 1 || p.year > 9999) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = p.year - 1900;
    tm.tm_mon = p.month - 1;
    tm.tm_mday = p.day;
    tm.tm_hour = p.hour;
    tm.tm_min = p.minute;
    tm.tm_sec = p.second;
    const std::time_t t = timegm(&tm);
    if (tm.tm_mday != p.day || tm.tm_mon != p.month - 1) return std::nullopt;  // 31 February
    const std::time_t utc = t - static_cast<std::time_t>(p.offset_minutes) * 60;
    std::tm out{};
    gmtime_r(&utc, &out);
    std::array<char, 80> buf{};
    if (with_time) {
        std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02dZ", out.tm_year + 1900,
                      out.tm_mon + 1, out.tm_mday, out.tm_hour, out.tm_min, out.tm_sec);
    } else {
        std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02d", out.tm_year + 1900, out.tm_mon + 1, out.tm_mday);
    }
    return std::string(buf.data());
}

int month_from_name(std::string_view name) {
    static const std::array<const char*, 12> names = {"january", "february", "march", "april", "may", "june",
                                                      "july", "august", "september", "october", "november",
                                                      "december"};
    const std::string lower = normalise_token(name);
    if (lower.size() < 3) return 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (std::string_view(names[i]).substr(0, lower.size()) == lower) return static_cast<int>(i) + 1;
    }
    return 0;
}

std::optional<Parts> parse(std::string_view s) {
    s = trim(s);
    Parts p;
    // ISO: YYYY-MM-DD or YYYY/MM/DD
    if (digits(s, 0, 4) && s.size() >= 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4] && digits(s, 5, 2) &&
        digits(s, 8, 2)) {
        p.year = number(s, 0, 4);
        p.month = number(s, 5, 2);
        p.day = number(s, 8, 2);
        std::size_t i = 10;
        if (i == s.size()) return p;
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
        ++i;
        if (!digits(s, i, 2) || i + 5 > s.size() || s[i + 2] != ':' || !digits(s, i + 3, 2)) return std::nullopt;
        p.hour = number(s, i, 2);
        p.minute = number(s, i + 3, 2);
        i += 5;
        if (i < s.size() && s[i] == ':') {
            if (!digits(s, i + 1, 2)) return std::nullopt;
            p.second = number(s, i + 1, 2);
            i += 3;
            if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
                ++i;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            }
        }
        if (i == s.size()) return p;
        if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size() ? std::optional<Parts>(p) : std::nullopt;
        if (s[i] == '+' || s[i] == '-') {
            const int sign = s[i] == '-' ? -1 : 1;
            if (!digits(s, i + 1, 2)) return std::nullopt;
            int hours = number(s, i + 1, 2);
            int minutes = 0;
            std::size_t j = i + 3;
            if (j < s.size() && s[j] == ':') ++j;
            if (j < s.size()) {
                if (!digits(s, j, 2) || j + 2 != s.size()) return std::nullopt;
                minutes = number(s, j, 2);
            }
            if (hours > 14 || minutes > 59) return std::nullopt;
            p.offset_minutes = sign * (hours * 60 + minutes);
            return p;
        }
        return std::nullopt;
    }
    // ACLED: "12 March 2020"
    int day = 0, year = 0;
    char month[16] = {};
    int consumed = 0;
    const std::string text(s);
    if (std::sscanf(text.c_str(), "%2d %15[A-Za-z] %4d%n", &day, month, &year, &consumed) == 3 &&
        static_cast<std::size_t>(consumed) == text.size()) {
        p.day = day;
        p.month = month_from_name(month);
        p.year = year;
        if (p.month) return p;
    }
    return std::nullopt;
}

} // namespace

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> parts;
    for (std::size_t start = 0; start < text.size();) {
        const auto end = std::min(text.find(',', start), text.size());
        parts.emplace_back(trim(text.substr(start, end - start)));
        start = end + 1;
    }
    return parts;
}

std::optional<std::string> normalise_datetime(std::string_view text) {
    auto parts = parse(text);
    if (!parts) return std::nullopt;
    return format(*parts, true);
}

std::optional<std::string> normalise_date(std::string_view text) {
    auto parts = parse(text);
    if (!parts) return std::nullopt;
    return format(*parts, false);
}

std::string normalise_token(std::string_view text) {
    std::string out;
    bool pending = false;
    for (char ch : trim(text)) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == ' ' || c == '-' || c == '/' || c == '_' || c == '\t') {
            pending = !out.empty();
            continue;
        }
        if (pending) out += '_';
        pending = false;
        out += static_cast<char>(std::tolower(c));
    }
    return out;
}

std::string fold_name(std::string_view text) {
    // Latin-1 Supplement and the common Latin Extended-A letters, as UTF-8 two-byte sequences.
    static const std::array<std::pair<const char*, char>, 40> folds = {{
        {"à", 'a'}, {"á", 'a'}, {"â", 'a'}, {"ä", 'a'}, {"ã", 'a'}, {"å", 'a'}, {"ç", 'c'}, {"è", 'e'},
        {"é", 'e'}, {"ê", 'e'}, {"ë", 'e'}, {"ì", 'i'}, {"í", 'i'}, {"î", 'i'}, {"ï", 'i'}, {"ñ", 'n'},
        {"ò", 'o'}, {"ó", 'o'}, {"ô", 'o'}, {"ö", 'o'}, {"ù", 'u'}, {"ú", 'u'}, {"û", 'u'}, {"ü", 'u'},
        {"ý", 'y'}, {"ÿ", 'y'}, {"À", 'a'}, {"Á", 'a'}, {"Â", 'a'}, {"Ä", 'a'}, {"Ç", 'c'}, {"È", 'e'},
        {"É", 'e'}, {"Ê", 'e'}, {"Ë", 'e'}, {"Î", 'i'}, {"Ï", 'i'}, {"Ô", 'o'}, {"Ö", 'o'}, {"Û", 'u'},
    }};
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        bool folded = false;
        for (const auto& [from, to] : folds) {
            const std::string_view f(from);
            if (text.substr(i, f.size()) == f) {
                out += to;
                i += f.size();
                folded = true;
                break;
            }
        }
        if (!folded) {
            out += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
            ++i;
        }
    }
    return out;
}

} // namespace sitmap::layers
