#pragma once
// What the admin API and the CLI need of the fan-out's storage: apps, accounts, deliveries with
// replay, and the audit log. Every call is scoped to one tenant; every write is audited in its
// own transaction. db/pg_app_store implements it.

#include "mappers/delivery.hpp"
#include "scim/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace scimbridge::mappers {

// A page of rows (JSON objects) in id order, and the cursor for the next page.
struct RowPage {
    boost::json::array rows;
    std::optional<std::string> next;  // pass as `after` for the next page
};

struct AccountQuery {
    std::optional<std::string> app_id;
    std::optional<std::string> state;
    std::optional<std::string> user_id;
    std::optional<std::string> after;  // resource id cursor (with app id): "app/resource"
    std::size_t limit = 100;
};

struct DeliveryQuery {
    std::optional<std::string> app_id;
    std::optional<std::string> state;
    std::optional<std::string> resource_id;
    std::optional<std::int64_t> after;  // delivery id
    std::size_t limit = 100;
};

struct ReplayRequest {
    std::vector<std::int64_t> ids;     // these deliveries, or
    std::optional<std::string> from;   // RFC 3339: deliveries created in [from, to)
    std::optional<std::string> to;
    std::optional<std::string> app_id;
    std::optional<std::string> state;  // default with a time range: dead
};

struct AuditQuery {
    std::optional<std::string> app_id;
    std::optional<std::string> resource_id;
    std::optional<std::string> action;  // prefix: "account." matches every account transition
    std::optional<std::int64_t> after;  // audit id
    std::size_t limit = 100;
};

class AppStore {
public:
    virtual ~AppStore() = default;
    // 409 uniqueness when the tenant has an app with this name.
    virtual scim::Result<StoredApp> create_app(const std::string& tenant_id, const AppDefinition& app,
                                               const std::string& actor) = 0;
    virtual std::vector<StoredApp> list_apps(const std::string& tenant_id) = 0;
    virtual std::optional<StoredApp> get_app(const std::string& tenant_id, const std::string& app_id) = 0;
    // 404 when absent, 412 when expected_version is set and differs.
    virtual scim::Result<StoredApp> update_app(const std::string& tenant_id, const std::string& app_id,
                                               const AppDefinition& app,
                                               std::optional<std::int64_t> expected_version,
                                               const std::string& actor) = 0;
    virtual scim::Result<void> delete_app(const std::string& tenant_id, const std::string& app_id,
                                          const std::string& actor) = 0;
    virtual RowPage accounts(const std::string& tenant_id, const AccountQuery& query) = 0;
    virtual RowPage deliveries(const std::string& tenant_id, const DeliveryQuery& query) = 0;
    // Re-queues the deliveries (same webhook-id); returns how many.
    virtual scim::Result<std::int64_t> replay(const std::string& tenant_id, const ReplayRequest& request,
                                              const std::string& actor) = 0;
    virtual RowPage audit(const std::string& tenant_id, const AuditQuery& query) = 0;
};

}  // namespace scimbridge::mappers
