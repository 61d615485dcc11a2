// Keyset paging over loopback against the real `sitmap serve`: walking the `next` links (which
// carry a cursor) returns every feature exactly once, also when features are created and deleted
// through the write API between pages; a cursor that is not the server's is refused with 400.

#include "geo/sqlite.hpp"
#include "layers/schema.hpp"
#include "write_fixture.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

using namespace sitmap::test;
using nlohmann::json;

namespace {

json paging_body(const HttpClient::Response& response) {
    INFO(response.result_int() << " " << response.body().substr(0, 400));
    REQUIRE(response.result() == http::status::ok);
    return json::parse(response.body());
}

std::string paging_next(const json& page) {
    for (const auto& l : page["links"]) {
        if (l["rel"] == "next") {
            const std::string href = l["href"];
            return href.substr(href.find('/', std::string("http://").size()));
        }
    }
    return {};
}

std::vector<std::string> paging_ids(const std::string& db, const std::string& sql) {
    auto conn = sitmap::layers::open_database(db, sitmap::geo::Database::Mode::read_only);
    auto stmt = conn.prepare(sql);
    std::vector<std::string> ids;
    while (stmt.step()) ids.emplace_back(stmt.column_text(0));
    return ids;
}

void paging_delete(unsigned short port, const std::string& token, const std::string& id) {
    REQUIRE(send(port, http::verb::delete_, "/collections/incidents/items/" + id, token).result() ==
            http::status::no_content);
}

void paging_create(unsigned short port, const std::string& token, const std::string& id, double lon, double lat) {
    REQUIRE(send(port, http::verb::post, "/collections/incidents/items", token, new_incident(id, lon, lat).dump())
                .result() == http::status::created);
}

/// A demo database served by the real binary, with an editor's token.
struct PagingServer {
    TempDir dir;
    std::string db = make_demo_database(dir);
    std::string editor = make_token(db, "editor", "JOC Gao");
    ServeProcess server{db};
};

} // namespace

TEST_CASE("cursor paging: items by fid, every feature once while others are created and deleted", "[http][db]") {
    PagingServer s;
    const auto& editor = s.editor;
    const auto port = s.server.port();
    const auto initial = paging_ids(s.db, "SELECT id FROM incidents ORDER BY fid");
    REQUIRE(initial.size() > 1000);

    std::map<std::string, int> seen;
    std::set<std::string> deleted, created;
    std::string target = "/collections/incidents/items?limit=200";
    int pages = 0;
    HttpClient client(port);
    while (!target.empty()) {
        const auto page = paging_body(client.get(target));
        for (const auto& f : page["features"]) ++seen[f["id"].get<std::string>()];
        target = paging_next(page);
        if (!target.empty()) {
            CHECK(target.find("cursor=") != std::string::npos);
            CHECK(target.find("offset=") == std::string::npos);
        }
        // Between pages: delete one feature already returned and one still ahead, create one.
        const std::size_t step = static_cast<std::size_t>(pages);
        if (pages < 10) {
            const auto& behind = initial[step * 200 + 7];
            const auto& ahead = initial[initial.size() - 100 - step * 37];
            for (const auto& id : {behind, ahead}) {
                paging_delete(port, editor, id);
                deleted.insert(id);
            }
            const std::string id = "PAGING-" + std::to_string(pages);
            paging_create(port, editor, id, -0.05 + 0.01 * pages, 16.3);
            created.insert(id);
        }
        ++pages;
        REQUIRE(pages < 100);
    }
    CHECK(pages > 10);
    for (const auto& [id, times] : seen) {
        INFO(id);
        CHECK(times == 1);  // none repeats
    }
    for (const auto& id : initial) {
        INFO(id);
        const bool deleted_ahead = deleted.count(id) && seen.count(id) == 0;
        CHECK((seen.count(id) == 1 || deleted_ahead));  // none skipped among those that stayed
    }
    for (std::size_t i = 0; i < 10; ++i) CHECK(seen.count(initial[initial.size() - 100 - i * 37]) == 0);
    for (const auto& id : created) CHECK(seen.count(id) == 1);  // new fids come after: at the end
    CHECK(seen.size() == initial.size() - 10 + created.size());
}

TEST_CASE("cursor paging: near_base, nearest first across pages, every feature once with writes between", "[http][db]") {
    PagingServer s;
    const auto& editor = s.editor;
    const auto port = s.server.port();
    HttpClient client(port);
    const std::string query = "/collections/incidents/items?near_base=BASE-001&radius_km=400";
    const auto whole = paging_body(client.get(query + "&limit=10000"));
    const std::int64_t matched = whole["numberMatched"];
    REQUIRE(matched > 300);
    REQUIRE(whole["numberReturned"] == matched);
    REQUIRE(paging_next(whole).empty());
    std::vector<std::string> initial;
    for (const auto& f : whole["features"]) initial.push_back(f["id"]);
    const auto base = paging_body(client.get("/collections/bases/items/BASE-001"));
    const double base_lon = base["geometry"]["coordinates"][0];
    const double base_lat = base["geometry"]["coordinates"][1];
    constexpr double radius_km = 400, km_per_degree_lat = 110.65;  // near 16 N

    std::map<std::string, int> seen;
    std::set<std::string> deleted_ahead;
    std::vector<std::string> order;
    std::vector<double> distances;
    std::string target = query + "&limit=40";
    int pages = 0;
    while (!target.empty()) {
        const auto page = paging_body(client.get(target));
        CHECK(page["numberMatched"].get<std::int64_t>() >= matched - 2 * pages);  // the whole set, not what is left
        for (const auto& f : page["features"]) {
            ++seen[f["id"].get<std::string>()];
            order.push_back(f["id"]);
            distances.push_back(f["properties"]["distance_km"]);
        }
        target = paging_next(page);
        if (pages < 6 && !target.empty()) {
            // Delete a feature still ahead and one returned; create one near the base (before the
            // cursor: not returned) and one at the edge of the radius (ahead: returned).
            const auto& ahead = initial[initial.size() - 1 - static_cast<std::size_t>(pages) * 11];
            paging_delete(port, editor, ahead);
            deleted_ahead.insert(ahead);
            paging_delete(port, editor, order[static_cast<std::size_t>(pages)]);
            paging_create(port, editor, "NEAR-" + std::to_string(pages), base_lon + 0.0001, base_lat);
            const double far_km = (distances.back() + radius_km) / 2;  // between the cursor and the radius
            REQUIRE(radius_km - distances.back() > 20);
            paging_create(port, editor, "FAR-" + std::to_string(pages), base_lon, base_lat + far_km / km_per_degree_lat);
        }
        ++pages;
        REQUIRE(pages < 200);
    }
    CHECK(pages > 6);
    for (const auto& [id, times] : seen) {
        INFO(id);
        CHECK(times == 1);
    }
    for (const auto& id : initial) {
        INFO(id);
        CHECK((seen.count(id) == 1 || deleted_ahead.count(id) == 1));
    }
    for (const auto& id : deleted_ahead) CHECK(seen.count(id) == 0);
    for (int i = 0; i < 6; ++i) {
        CHECK(seen.count("NEAR-" + std::to_string(i)) == 0);  // nearer than where the walk was
        CHECK(seen.count("FAR-" + std::to_string(i)) == 1);
    }
    for (std::size_t i = 1; i < distances.size(); ++i) {
        INFO(order[i]);
        REQUIRE(distances[i - 1] <= distances[i]);  // nearest first across pages
    }
}

TEST_CASE("cursor paging: a cursor that is not the server's, or of another kind of query, is a 400", "[http][db]") {
    TempDir dir;
    const auto db = make_demo_database(dir);
    ServeProcess server(db);
    HttpClient client(server.port());
    const std::string items = "/collections/incidents/items?limit=5";
    const std::string near = "/collections/incidents/items?near_base=BASE-001&radius_km=200&limit=5";
    const auto items_next = paging_next(paging_body(client.get(items)));
    const auto near_next = paging_next(paging_body(client.get(near)));
    REQUIRE(!items_next.empty());
    REQUIRE(!near_next.empty());
    CHECK(client.get(items_next).result() == http::status::ok);
    CHECK(client.get(near_next).result() == http::status::ok);
    const auto cursor_of = [](const std::string& target) {
        const auto at = target.find("cursor=") + 7;
        return target.substr(at, target.find('&', at) - at);
    };
    const std::string items_cursor = cursor_of(items_next), near_cursor = cursor_of(near_next);
    std::string changed = items_cursor;
    changed[1] = changed[1] == '9' ? '8' : '9';  // another fid, the check left as it was
    std::string flipped = near_cursor;
    flipped.back() = flipped.back() == '0' ? '1' : '0';
    for (const std::string& target :
         {items + "&cursor=" + changed, items + "&cursor=" + items_cursor.substr(0, items_cursor.size() - 1),
          items + "&cursor=abc", items + "&cursor=", items + "&cursor=f1%27%20OR%201=1--", near + "&cursor=" + flipped,
          items + "&cursor=" + near_cursor, near + "&cursor=" + items_cursor, items + "&cursor=" + std::string(500, 'f')}) {
        const auto response = client.get(target);
        INFO(target << " -> " << response.result_int() << " " << response.body());
        CHECK(response.result() == http::status::bad_request);
        const auto body = json::parse(response.body(), nullptr, false);
        CHECK(body.value("error", "") == "bad_request");
        CHECK(body.value("message", "").find("cursor") != std::string::npos);
    }
}
