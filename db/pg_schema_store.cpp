#include "db/pg_schema_store.hpp"

#include "db/database_impl.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace scimbridge::db {

std::vector<scim::TenantSchema> PgSchemaStore::list_schemas(const std::string& tenant_id) {
    return db_.impl().with_connection([&](Connection& c) {
        // One row: the tenant's schemas as a JSON array, oldest first.
        const auto row = query_row(
            c,
            "SELECT coalesce(json_agg(json_build_object('resourceType', resource_type, "
            "'definition', definition) ORDER BY created_at, id), '[]')::text FROM tenant_schema "
            "WHERE tenant_id = CAST(:t AS uuid)",
            {{"t", tenant_id}});
        std::vector<scim::TenantSchema> out;
        const boost::json::value all = boost::json::parse(row->at(0).value_or("[]"));
        for (const boost::json::value& v : all.as_array()) {
            out.push_back({std::string(v.at("resourceType").as_string()),
                           v.at("definition").as_object()});
        }
        return out;
    });
}

scim::Result<std::string> PgSchemaStore::add_schema(const std::string& tenant_id,
                                                    const scim::TenantSchema& schema) {
    // The whole registry must still build with the new schema (no clash with core or others).
    std::vector<scim::TenantSchema> all = list_schemas(tenant_id);
    all.push_back(schema);
    auto registry = scim::build_registry(all);
    if (!registry) {
        return registry.error();
    }
    const std::string id(schema.definition.at("id").as_string());
    const std::string definition = boost::json::serialize(schema.definition);
    return db_.impl().with_session([&](soci::session& s) -> scim::Result<std::string> {
        try {
            s << "INSERT INTO tenant_schema (tenant_id, id, resource_type, definition) VALUES "
                 "(CAST(:t AS uuid), :id, :rt, CAST(:def AS jsonb))",
                soci::use(tenant_id, "t"), soci::use(id, "id"),
                soci::use(schema.resource_type, "rt"), soci::use(definition, "def");
        } catch (const soci::soci_error& e) {
            if (sqlstate_of(e) == "23505") {
                return scim::Error::uniqueness("schema " + id + " is already defined");
            }
            throw;
        }
        s << "SELECT pg_notify('" << kSchemaChangedChannel << "', :t)", soci::use(tenant_id, "t");
        return id;
    });
}

}  // namespace scimbridge::db
