#include "layers/tokens.hpp"

#include "geo/error.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <sys/random.h>

// GDAL exports its SHA-256 (port/cpl_sha256.h) but Debian does not install that header.
extern "C" void CPL_SHA256(const void* data, std::size_t len, unsigned char hash[32]);

namespace sitmap::layers {

namespace {

constexpr std::array<const char*, 4> role_names = {"viewer", "editor", "verifier", "admin"};
constexpr std::size_t id_bytes = 6;       // 12 hex digits
constexpr std::size_t secret_bytes = 32;  // 43 base64url characters
constexpr std::size_t secret_chars = 43;

void random_bytes(unsigned char* out, std::size_t size) {
    while (size > 0) {
        const ssize_t got = getrandom(out, size, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw internal_error(std::string("getrandom: ") + std::strerror(errno));
        }
        out += got;
        size -= static_cast<std::size_t>(got);
    }
}

std::string hex(const unsigned char* data, std::size_t size) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out += digits[data[i] >> 4U];
        out += digits[data[i] & 15U];
    }
    return out;
}

std::string base64url(const unsigned char* data, std::size_t size) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::size_t i = 0; i < size; ++i) {
        buffer = (buffer << 8U) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(buffer >> static_cast<unsigned>(bits)) & 63U];
        }
    }
    if (bits > 0) out += alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 63U];
    return out;  // no padding
}

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> hash{};
    CPL_SHA256(text.data(), text.size(), hash.data());
    return hash;
}

/// The id and secret of `sm_<id>_<secret>`, or nothing when the text is not shaped like a token.
std::optional<std::pair<std::string_view, std::string_view>> split_token(std::string_view token) {
    if (token.size() != 3 + 2 * id_bytes + 1 + secret_chars || token.substr(0, 3) != "sm_" ||
        token[3 + 2 * id_bytes] != '_') {
        return std::nullopt;
    }
    const auto id = token.substr(3, 2 * id_bytes);
    for (const char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    }
    return std::pair{id, token.substr(4 + 2 * id_bytes)};
}

TokenInfo read_info(const geo::Statement& stmt) {
    TokenInfo info;
    info.id = stmt.column_text(0);
    info.name = stmt.column_text(1);
    info.role = parse_role(stmt.column_text(2));
    info.created_at = stmt.column_text(3);
    if (!stmt.is_null(4)) info.revoked_at = std::string(stmt.column_text(4));
    return info;
}

} // namespace

std::string_view role_name(Role role) { return role_names[static_cast<std::size_t>(role)]; }

Role parse_role(std::string_view name) {
    for (std::size_t i = 0; i < role_names.size(); ++i) {
        if (name == role_names[i]) return static_cast<Role>(i);
    }
    throw input_error("role: unknown role '" + std::string(name) + "' (one of: viewer, editor, verifier, admin)");
}

NewToken create_token(geo::Database& db, const std::string& name, Role role) {
    if (name.empty() || name.size() > 200) throw input_error("name: expected 1 to 200 characters");
    std::array<unsigned char, id_bytes> id{};
    std::array<unsigned char, secret_bytes> secret{};
    random_bytes(id.data(), id.size());
    random_bytes(secret.data(), secret.size());
    NewToken created;
    created.info.id = hex(id.data(), id.size());
    created.info.name = name;
    created.info.role = role;
    const std::string secret_text = base64url(secret.data(), secret.size());
    created.token = "sm_" + created.info.id + "_" + secret_text;
    const auto hash = sha256(secret_text);
    auto insert = db.prepare("INSERT INTO sitmap_tokens (id, name, role, secret_hash, created_at) "
                             "VALUES (?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) RETURNING created_at");
    insert.bind(1, created.info.id).bind(2, name).bind(3, role_name(role)).bind_blob(4, hash.data(), hash.size());
    insert.step();
    created.info.created_at = insert.column_text(0);
    insert.run();
    return created;
}

std::vector<TokenInfo> list_tokens(geo::Database& db) {
    auto stmt = db.prepare("SELECT id, name, role, created_at, revoked_at FROM sitmap_tokens ORDER BY created_at, rowid");
    std::vector<TokenInfo> tokens;
    while (stmt.step()) tokens.push_back(read_info(stmt));
    return tokens;
}

void revoke_token(geo::Database& db, const std::string& id) {
    const auto parts = split_token(id);
    auto stmt = db.prepare("UPDATE sitmap_tokens SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
                           "WHERE id = ? AND revoked_at IS NULL");
    stmt.bind(1, parts ? parts->first : std::string_view(id)).run();
    if (db.changes() == 0) {
        auto known = db.prepare("SELECT 1 FROM sitmap_tokens WHERE id = ?");
        known.bind(1, parts ? parts->first : std::string_view(id));
        if (!known.step()) throw not_found_error("no token with id '" + id + "' (see `sitmap token list`)");
    }
}

std::optional<TokenInfo> verify_token(geo::Database& db, std::string_view token) {
    const auto parts = split_token(token);
    if (!parts) return std::nullopt;
    auto stmt = db.prepare("SELECT id, name, role, created_at, revoked_at, secret_hash FROM sitmap_tokens WHERE id = ?");
    stmt.bind(1, parts->first);
    if (!stmt.step()) return std::nullopt;
    const auto stored = stmt.column_blob(5);
    const auto presented = sha256(parts->second);
    // Every byte is compared whatever the first difference, so the time taken tells nothing.
    unsigned char difference = stored.size() == presented.size() ? 0 : 1;
    for (std::size_t i = 0; i < presented.size() && i < stored.size(); ++i) {
        difference |= static_cast<unsigned char>(static_cast<unsigned char>(stored[i]) ^ presented[i]);
    }
    if (difference != 0 || !stmt.is_null(4)) return std::nullopt;
    return read_info(stmt);
}

bool token_active(geo::Database& db, std::string_view id) {
    auto stmt = db.prepare("SELECT 1 FROM sitmap_tokens WHERE id = ? AND revoked_at IS NULL");
    stmt.bind(1, id);
    return stmt.step();
}

} // namespace sitmap::layers
