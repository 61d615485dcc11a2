// `sitmap token create|list|revoke --db F`: the API tokens and their roles.
#include "app/command.hpp"

#include "geo/error.hpp"
#include "layers/schema.hpp"
#include "layers/tokens.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

namespace sitmap::app {

namespace {

struct TokenArguments {
    std::string db_path;
    std::string name, role, id;
    CLI::App* create = nullptr;
    CLI::App* list = nullptr;
};

void create_token(geo::Database& db, const TokenArguments& a) {
    const auto created = layers::create_token(db, a.name, layers::parse_role(a.role));
    std::cerr << "token " << created.info.id << " for " << created.info.name << " ("
              << layers::role_name(created.info.role) << "); it is shown once, keep it now:\n";
    std::printf("%s\n", created.token.c_str());
}

void list_tokens(geo::Database& db) {
    std::printf("%-12s  %-9s  %-20s  %-20s  %s\n", "id", "role", "created", "revoked", "name");
    for (const auto& t : layers::list_tokens(db)) {
        std::printf("%-12s  %-9s  %-20s  %-20s  %s\n", t.id.c_str(), std::string(layers::role_name(t.role)).c_str(),
                    t.created_at.c_str(), t.revoked_at.value_or("-").c_str(), t.name.c_str());
    }
}

int run_token(const TokenArguments& a) {
    if (!std::filesystem::exists(a.db_path)) throw input_error(a.db_path + " does not exist");
    auto db = layers::open_database(a.db_path, geo::Database::Mode::read_write);
    if (a.create->parsed()) {
        create_token(db, a);
    } else if (a.list->parsed()) {
        list_tokens(db);
    } else {
        layers::revoke_token(db, a.id);
        std::printf("token %s revoked\n", a.id.c_str());
    }
    return 0;
}

} // namespace

Command add_token_command(CLI::App& app) {
    auto arguments = std::make_shared<TokenArguments>();
    auto& a = *arguments;
    auto* token = app.add_subcommand("token", "Create, list and revoke API tokens");
    token->require_subcommand(1);
    a.create = token->add_subcommand("create", "Create a token; prints it once, alone on a line");
    a.create->add_option("--db", a.db_path, "SpatiaLite file")->required();
    a.create->add_option("--name", a.name, "Who holds it (\"JOC Gao\")")->required();
    a.create->add_option("--role", a.role, "viewer, editor, verifier or admin")->required();
    a.list = token->add_subcommand("list", "List tokens: id, name, role, created, revoked");
    a.list->add_option("--db", a.db_path, "SpatiaLite file")->required();
    auto* revoke = token->add_subcommand("revoke", "Revoke a token");
    revoke->add_option("--db", a.db_path, "SpatiaLite file")->required();
    revoke->add_option("id", a.id, "The token's id (12 hex digits, from token list)")->required();
    return {token, [arguments] { return run_token(*arguments); }};
}

} // namespace sitmap::app
