#pragma once
// The integration fixture of the resource suites: a fresh database, migrated, with two tenants
// (a and b), the PostgreSQL stores and the resource service over them.

#include "db/database.hpp"
#include "db/migrations.hpp"
#include "db/pg_resource_store.hpp"
#include "db/pg_tenancy_store.hpp"
#include "scim/resource_service.hpp"
#include "server/ids.hpp"
#include "tests/support/pg_test_database.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace scimbridge::tests {

struct World {
    PgTestDatabase t;
    std::unique_ptr<db::Database> database = db::Database::open(t.dsn(), {8});
    db::PgTenancyStore tenancy{*database};
    db::PgResourceStore store{*database, scim::SchemaRegistry::core()};
    server::SystemClock clock;
    server::RandomIdGenerator ids;
    scim::ResourceService service{store, clock, ids};
    scim::CallContext a;
    scim::CallContext b;

    World() {
        db::migrate(*database);
        a.tenant_id = tenancy.create_tenant("tenant-a")->id;
        b.tenant_id = tenancy.create_tenant("tenant-b")->id;
    }

    scim::StoredResource user(const scim::CallContext& ctx, const std::string& user_name,
                              const std::string& extra = "") {
        auto r = service.create(ctx, scim::ResourceKind::kUser,
                                boost::json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" +
                                            user_name + "\"" + extra + "}"));
        REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : r.error().detail));
        return *r;
    }

    scim::Result<scim::StoredResource> group(const scim::CallContext& ctx, const std::string& name,
                                             const std::vector<std::string>& members) {
        boost::json::array m;
        for (const auto& id : members) {
            m.push_back(boost::json::object{{"value", id}});
        }
        boost::json::object body{{"schemas", boost::json::array{"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                          {"displayName", name},
                          {"members", m}};
        return service.create(ctx, scim::ResourceKind::kGroup, body);
    }

    scim::Page list(const scim::CallContext& ctx, scim::ResourceKind kind, const std::string& filter,
                    scim::LoadOptions load = {}) {
        scim::ListParams p;
        p.filter = filter;
        p.load = load;
        auto page = service.list(ctx, kind, p);
        REQUIRE_MESSAGE(page.has_value(), (page.has_value() ? "" : page.error().detail));
        return *page;
    }

    std::string events(const std::string& resource_id) {
        return t.query("SELECT string_agg(operation || ':' || version || ':' || "
                       "array_to_string(changed_attributes, ','), ' ' ORDER BY id) "
                       "FROM change_event WHERE resource_id = '" + resource_id + "'");
    }
};

}  // namespace scimbridge::tests
