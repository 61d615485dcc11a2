#pragma once
/// API tokens: who may read, write, verify and administer. Only a SHA-256 hash of each secret
/// is stored; the whole token is shown once, when it is created.
///
/// A token reads `sm_<12 hex id>_<43 base64url secret>` (256 random bits).

#include "geo/sqlite.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitmap::layers {

/// Roles, each allowing what the ones before it allow.
enum class Role { viewer, editor, verifier, admin };

/// "viewer", "editor", "verifier" or "admin".
std::string_view role_name(Role role);

/// The role with that name; throws sitmap::input_error listing the roles there are.
Role parse_role(std::string_view name);

/// A token as stored (never its secret).
struct TokenInfo {
    std::string id;          ///< 12 hex digits, public (it names the token in logs and lists)
    std::string name;        ///< who holds it ("JOC Gao")
    Role role = Role::viewer;
    std::string created_at;  ///< UTC, ISO 8601
    std::optional<std::string> revoked_at;
};

/// A new token: its record and the whole token text, to hand to its holder once.
struct NewToken {
    TokenInfo info;
    std::string token;
};

/// Creates a token with a secret from the system's random source. Throws sitmap::input_error for
/// an empty or over-long name.
NewToken create_token(geo::Database& db, const std::string& name, Role role);

/// Every token, oldest first, revoked ones included.
std::vector<TokenInfo> list_tokens(geo::Database& db);

/// Revokes a token (by id, or by the whole token text). Throws sitmap::not_found_error.
void revoke_token(geo::Database& db, const std::string& id);

/// The token's record when `token` is a well-formed, known, unrevoked token whose secret matches
/// (compared in constant time); nullopt otherwise.
std::optional<TokenInfo> verify_token(geo::Database& db, std::string_view token);

/// True when a token with this id exists and is not revoked: one lookup by primary key, for a
/// long-lived stream that must end when its token is revoked.
bool token_active(geo::Database& db, std::string_view id);

} // namespace sitmap::layers
