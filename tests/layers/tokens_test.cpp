#include "layers/tokens.hpp"

#include "geo/error.hpp"
#include "layers/schema.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <regex>

using namespace sitmap;

TEST_CASE("tokens: a new token is shown once, stored as a hash, and verifies with its role", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("t.db"), geo::Database::Mode::create);
    const auto created = layers::create_token(db, "JOC Gao", layers::Role::editor);
    CHECK(std::regex_match(created.token, std::regex("sm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")));
    CHECK(created.token.substr(3, 12) == created.info.id);

    auto stored = db.prepare("SELECT secret_hash FROM sitmap_tokens WHERE id = ?");
    stored.bind(1, created.info.id);
    REQUIRE(stored.step());
    CHECK(stored.column_blob(0).size() == 32);
    const std::string secret = created.token.substr(16);
    CHECK(stored.column_blob(0).find(secret) == std::string_view::npos);

    const auto verified = layers::verify_token(db, created.token);
    REQUIRE(verified);
    CHECK(verified->name == "JOC Gao");
    CHECK(verified->role == layers::Role::editor);

    const auto other = layers::create_token(db, "JOC Gao", layers::Role::editor);
    CHECK(other.token != created.token);
}

TEST_CASE("tokens: wrong secrets, malformed and unknown tokens do not verify", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("t.db"), geo::Database::Mode::create);
    const auto created = layers::create_token(db, "Sector East", layers::Role::viewer);
    std::string wrong = created.token;
    wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
    CHECK_FALSE(layers::verify_token(db, wrong));
    CHECK_FALSE(layers::verify_token(db, ""));
    CHECK_FALSE(layers::verify_token(db, created.token.substr(0, 40)));
    CHECK_FALSE(layers::verify_token(db, created.token + "x"));
    CHECK_FALSE(layers::verify_token(db, "sm_000000000000_" + created.token.substr(16)));
    CHECK_FALSE(layers::verify_token(db, "sm_' OR 1=1 --_" + std::string(43, 'a')));
}

TEST_CASE("tokens: a revoked token no longer verifies and is listed as revoked", "[db]") {
    test::TempDir dir;
    auto db = layers::open_database(dir.file("t.db"), geo::Database::Mode::create);
    const auto a = layers::create_token(db, "A", layers::Role::admin);
    const auto b = layers::create_token(db, "B", layers::Role::verifier);
    layers::revoke_token(db, a.info.id);
    CHECK_FALSE(layers::verify_token(db, a.token));
    CHECK(layers::verify_token(db, b.token));
    const auto list = layers::list_tokens(db);
    REQUIRE(list.size() == 2);
    CHECK(list[0].id == a.info.id);
    CHECK(list[0].revoked_at);
    CHECK_FALSE(list[1].revoked_at);
    CHECK(list[1].role == layers::Role::verifier);
    REQUIRE_THROWS_AS(layers::revoke_token(db, "0123456789ab"), not_found_error);
    layers::revoke_token(db, a.info.id);  // again: still revoked, no error
}

TEST_CASE("tokens: roles parse by name, in order, and unknown ones are refused", "[db]") {
    CHECK(layers::parse_role("verifier") == layers::Role::verifier);
    CHECK(layers::role_name(layers::Role::admin) == "admin");
    CHECK(layers::Role::viewer < layers::Role::editor);
    CHECK(layers::Role::verifier < layers::Role::admin);
    REQUIRE_THROWS_AS(layers::parse_role("root"), input_error);
}
