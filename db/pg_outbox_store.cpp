#include "db/pg_outbox_store.hpp"

#include "db/database_impl.hpp"
#include "db/json_rows.hpp"
#include "db/pg_resource_store.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace scimbridge::db {

namespace json = boost::json;
using mappers::AccountState;

namespace {

// In a statement's select list or FROM: its transaction's commit does not wait for its WAL flush
// (delivery bookkeeping, see pg_outbox_store.hpp). A macro so that it can be spliced into
// statement literals.
#define ASYNC_COMMIT "set_config('synchronous_commit', 'off', true)"

constexpr const char* kClaim =
    "SELECT coalesce(json_agg(json_build_object('id', d.id, 'lease_token', d.lease_token, "
    "'tenant_id', d.tenant_id, 'app_id', d.app_id, 'app_version', a.version, "
    "'resource_type', d.resource_type, 'resource_id', d.resource_id, 'version', d.version, "
    "'operation', d.operation, 'attempts', d.attempts, "
    "'created_at', to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
    "'age', extract(epoch FROM now() - d.created_at))), '[]')::text "
    "FROM scim_bridge_claim_deliveries(CAST(:n AS integer), CAST(:lease AS interval), "
    "CAST(:cap AS integer), CAST(:exclude AS uuid[])) d "
    "JOIN app a ON a.tenant_id = d.tenant_id AND a.id = d.app_id "
    "CROSS JOIN (SELECT " ASYNC_COMMIT ") async";

constexpr const char* kLoadApp =
    "SELECT json_build_object('id', id, 'tenant_id', tenant_id, 'version', version, "
    "'enabled', enabled, 'definition', definition)::text FROM app "
    "WHERE tenant_id = CAST(:t AS uuid) AND id = CAST(:a AS uuid)";

constexpr const char* kAppObject =
    "SELECT json_build_object('object', " APP_OBJECT_JSON ")::text "
    "FROM app_object o WHERE o.tenant_id = CAST(:t AS uuid) AND o.app_id = CAST(:a AS uuid) "
    "AND o.resource_id = CAST(:r AS uuid)";

// One primary-key lookup per id (a correlated subquery: with the table's statistics still those
// of an empty table, as after a tenant's first burst, a join or `= ANY` was planned as a scan of
// every object of the app).
constexpr const char* kAppObjects =
    "SELECT coalesce(json_object_agg(x.id, x.object) FILTER (WHERE x.object IS NOT NULL), '{}')::text "
    "FROM (SELECT k.id, (SELECT " APP_OBJECT_JSON " FROM app_object o "
    "  WHERE o.tenant_id = CAST(:t AS uuid) AND o.app_id = CAST(:a AS uuid) AND o.resource_id = k.id) AS object "
    "  FROM unnest(CAST(:r AS uuid[])) AS k(id)) x";

// Direct user members with a live account in the app, against the members the app was told.
constexpr const char* kMemberDiff =
    "WITH desired AS (SELECT m.member_id AS id, o.remote_id FROM scim_group_member m "
    "  JOIN app_object o ON o.tenant_id = m.tenant_id AND o.app_id = CAST(:a AS uuid) "
    "   AND o.resource_id = m.member_id AND o.state <> 'blocked' "
    "   AND (o.memberships_purged_at IS NULL OR m.added_at > o.memberships_purged_at) "
    "  WHERE m.tenant_id = CAST(:t AS uuid) AND m.group_id = CAST(:g AS uuid) AND m.member_type = 'User'), "
    "told AS (SELECT member_id AS id FROM app_group_member WHERE tenant_id = CAST(:t AS uuid) "
    "  AND app_id = CAST(:a AS uuid) AND group_id = CAST(:g AS uuid)) "
    "SELECT json_build_object("
    " 'added', coalesce((SELECT json_agg(json_build_object('id', d.id, 'remote_id', d.remote_id)) "
    "   FROM desired d WHERE NOT EXISTS (SELECT 1 FROM told x WHERE x.id = d.id)), '[]'), "
    " 'removed', coalesce((SELECT json_agg(json_build_object('id', x.id, 'remote_id', o.remote_id)) "
    "   FROM told x LEFT JOIN app_object o ON o.tenant_id = CAST(:t AS uuid) "
    "   AND o.app_id = CAST(:a AS uuid) AND o.resource_id = x.id "
    "   WHERE NOT EXISTS (SELECT 1 FROM desired d WHERE d.id = x.id)), '[]'))::text";

// Completions: one, or a group of them in one statement (each fenced by its lease token; the
// flags in the order given). Both commit asynchronously (see pg_outbox_store.hpp).
constexpr const char* kCompleteOne =
    "SELECT scim_bridge_complete_delivery(CAST(:p AS jsonb)), " ASYNC_COMMIT;
constexpr const char* kCompleteMany =
    "SELECT json_agg(scim_bridge_complete_delivery(x.e) ORDER BY x.i)::text "
    "FROM jsonb_array_elements(CAST(:p AS jsonb)) WITH ORDINALITY AS x(e, i) "
    "CROSS JOIN (SELECT " ASYNC_COMMIT ") async";
constexpr std::size_t kMaxGroup = 64;

bool call_bool(Database& db, const char* sql, const json::object& p) {
    return db.impl().with_connection([&](Connection& c) {
        const auto row = query_row(c, sql, Params{{"p", json::serialize(p)}});
        return row && !row->empty() && row->at(0) && *row->at(0) == "t";
    });
}

std::vector<mappers::MemberChange> members_of(const json::value& list) {
    std::vector<mappers::MemberChange> out;
    for (const json::value& v : list.as_array()) {
        const json::object& o = v.as_object();
        mappers::MemberChange m;
        m.id = std::string(o.at("id").as_string());
        m.remote_id = opt_text(o, "remote_id");
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace

std::vector<mappers::DeliveryJob> PgOutboxStore::claim(std::size_t max, std::chrono::milliseconds lease,
                                                       std::size_t app_cap,
                                                       const std::vector<std::string>& exclude) {
    const Params params{{"n", std::to_string(max)},
                        {"lease", std::to_string(lease.count()) + " milliseconds"},
                        {"cap", std::to_string(app_cap)},
                        {"exclude", pg_array_literal(exclude)}};
    const auto rows = db_.impl().with_connection([&](Connection& c) { return json_row(c, kClaim, params); });
    std::vector<mappers::DeliveryJob> jobs;
    if (!rows) {
        return jobs;
    }
    for (const json::value& v : rows->as_array()) {
        const json::object& o = v.as_object();
        mappers::DeliveryJob j;
        j.id = o.at("id").to_number<std::int64_t>();
        j.lease_token = std::string(o.at("lease_token").as_string());
        j.tenant_id = std::string(o.at("tenant_id").as_string());
        j.app_id = std::string(o.at("app_id").as_string());
        j.app_version = o.at("app_version").to_number<std::int64_t>();
        j.kind = o.at("resource_type").as_string() == "User" ? scim::ResourceKind::kUser
                                                             : scim::ResourceKind::kGroup;
        j.resource_id = std::string(o.at("resource_id").as_string());
        j.version = o.at("version").to_number<std::int64_t>();
        j.operation = std::string(o.at("operation").as_string());
        j.attempts = o.at("attempts").to_number<int>();
        j.created_at = std::string(o.at("created_at").as_string());
        j.age_seconds = o.at("age").to_number<double>();
        jobs.push_back(std::move(j));
    }
    return jobs;
}

std::size_t PgOutboxStore::release_expired_leases() {
    return db_.impl().with_connection([](Connection& c) {
        const auto row = query_row(c, "SELECT scim_bridge_release_expired_leases()", Params{});
        return row && !row->empty() && row->at(0)
                   ? static_cast<std::size_t>(std::stoull(*row->at(0)))
                   : std::size_t{0};
    });
}

std::optional<mappers::StoredApp> PgOutboxStore::load_app(const std::string& tenant_id,
                                                          const std::string& app_id) {
    if (!is_uuid(app_id)) {
        return std::nullopt;
    }
    const auto row = db_.impl().with_connection(
        [&](Connection& c) { return json_row(c, kLoadApp, Params{{"t", tenant_id}, {"a", app_id}}); });
    if (!row) {
        return std::nullopt;
    }
    const json::object& o = row->as_object();
    mappers::StoredApp app;
    app.id = std::string(o.at("id").as_string());
    app.tenant_id = std::string(o.at("tenant_id").as_string());
    app.version = o.at("version").to_number<std::int64_t>();
    app.enabled = o.at("enabled").as_bool();
    app.definition = o.at("definition").as_object();
    return app;
}

std::optional<mappers::AppObject> PgOutboxStore::app_object(const std::string& tenant_id,
                                                            const std::string& app_id,
                                                            const std::string& resource_id) {
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row(c, kAppObject, Params{{"t", tenant_id}, {"a", app_id}, {"r", resource_id}});
    });
    if (!row) {
        return std::nullopt;
    }
    return app_object_from(row->as_object().at("object").as_object());
}

std::unordered_map<std::string, mappers::AppObject> PgOutboxStore::app_objects(
    const std::string& tenant_id, const std::string& app_id, const std::vector<std::string>& resource_ids) {
    std::unordered_map<std::string, mappers::AppObject> out;
    std::vector<std::string> ids;
    for (const std::string& id : resource_ids) {
        if (is_uuid(id)) {
            ids.push_back(id);
        }
    }
    if (ids.empty() || !is_uuid(tenant_id) || !is_uuid(app_id)) {
        return out;
    }
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row(c, kAppObjects, Params{{"t", tenant_id}, {"a", app_id}, {"r", pg_array_literal(ids)}});
    });
    if (row) {
        for (const auto& [id, object] : row->as_object()) {
            out.emplace(std::string(id), app_object_from(object.as_object()));
        }
    }
    return out;
}

mappers::MemberDiff PgOutboxStore::member_diff(const std::string& tenant_id, const std::string& app_id,
                                               const std::string& group_id) {
    const auto row = db_.impl().with_connection([&](Connection& c) {
        return json_row(c, kMemberDiff, Params{{"t", tenant_id}, {"a", app_id}, {"g", group_id}});
    });
    mappers::MemberDiff diff;
    if (row) {
        diff.added = members_of(row->as_object().at("added"));
        diff.removed = members_of(row->as_object().at("removed"));
    }
    return diff;
}

bool PgOutboxStore::complete(const mappers::DeliveryJob& job, const mappers::Completion& c) {
    json::object p{{"id", job.id},
                   {"lease_token", job.lease_token},
                   {"delivered", c.delivered},
                   {"event_type", c.event_type},
                   {"status", c.status},
                   {"detail", c.detail.substr(0, 500)},
                   {"write_object", c.write_object},
                   {"forget_object", c.forget_object},
                   {"redeliver_user_groups", c.redeliver_user_groups},
                   {"rescope_group_members", c.rescope_group_members}};
    if (c.write_object) {
        if (c.object.state) {
            p["state"] = mappers::to_string(*c.object.state);
        }
        if (c.object.state_before_block) {
            p["state_before_block"] = mappers::to_string(*c.object.state_before_block);
        }
        if (c.object.remote_id) {
            p["remote_id"] = *c.object.remote_id;
        }
        p["payload"] = c.object.payload;
        p["delivered_version"] = c.object.delivered_version;
        if (c.object.delivered_state) {
            p["delivered_state"] = mappers::to_string(*c.object.delivered_state);
        }
        if (c.object.announced_invitation) {
            p["announced_invitation"] = *c.object.announced_invitation;
        }
    }
    if (c.change) {
        json::object change{{"to", mappers::to_string(c.change->to)}, {"cause", c.change->cause}};
        if (c.change->from) {
            change["from"] = mappers::to_string(*c.change->from);
        }
        p["change"] = std::move(change);
    }
    json::array added, removed, errors;
    for (const std::string& m : c.members_added) added.emplace_back(m);
    for (const std::string& m : c.members_removed) removed.emplace_back(m);
    for (const std::string& e : c.mapping_errors) errors.emplace_back(e.substr(0, 500));
    p["members_added"] = std::move(added);
    p["members_removed"] = std::move(removed);
    p["mapping_errors"] = std::move(errors);
    Pending me;
    me.params = &p;
    std::unique_lock lock(mutex_);
    queued_.push_back(&me);
    // A thread records when fewer than recorders_max_ statements are running: what is queued (its
    // own completion among it, at most kMaxGroup at a time) in one statement. Otherwise it waits
    // until its completion is recorded by another thread or a recorder's place frees.
    while (!me.done && !me.error) {
        if (recorders_ >= recorders_max_ || queued_.empty()) {
            me.cv.wait(lock, [&] { return me.woken; });
            me.woken = false;
            continue;
        }
        ++recorders_;
        const std::size_t n = std::min(queued_.size(), kMaxGroup);
        std::vector<Pending*> group(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(n));
        queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(n));
        lock.unlock();
        record(group);
        lock.lock();
        --recorders_;
        for (Pending* item : group) {
            if (item != &me) {
                item->woken = true;
                item->cv.notify_one();  // under the mutex: `item` outlives the call
            }
        }
    }
    // A recorder's place is free: the next queued completion's thread records next.
    if (!queued_.empty() && recorders_ < recorders_max_) {
        queued_.front()->woken = true;
        queued_.front()->cv.notify_one();
    }
    lock.unlock();
    if (me.error) {
        std::rethrow_exception(me.error);
    }
    return *me.done;
}

void PgOutboxStore::record(const std::vector<Pending*>& batch) {
    const auto one = [&](Pending& item) {
        try {
            item.done = call_bool(db_, kCompleteOne, *item.params);
        } catch (...) {
            item.error = std::current_exception();
        }
    };
    if (batch.size() == 1) {
        one(*batch.front());
        return;
    }
    json::array all;
    for (const Pending* item : batch) {
        all.emplace_back(*item->params);
    }
    std::optional<json::value> results;
    try {
        results = db_.impl().with_connection(
            [&](Connection& c) { return json_row(c, kCompleteMany, Params{{"p", json::serialize(all)}}); });
    } catch (const DatabaseUnavailable&) {
        for (Pending* item : batch) {
            item->error = std::current_exception();
        }
        return;
    } catch (...) {
        for (Pending* item : batch) {
            one(*item);
        }
        return;
    }
    const json::array* flags = results && results->is_array() ? &results->as_array() : nullptr;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i]->done = flags != nullptr && i < flags->size() && flags->at(i).is_bool() && flags->at(i).as_bool();
    }
}

bool PgOutboxStore::reschedule(const mappers::DeliveryJob& job, const mappers::Reschedule& plan) {
    const json::object p{{"id", job.id},
                         {"lease_token", job.lease_token},
                         {"dead", plan.dead},
                         {"delay_ms", plan.delay.count()},
                         {"status", plan.status},
                         {"detail", plan.detail.substr(0, 500)}};
    return call_bool(db_, "SELECT scim_bridge_reschedule_delivery(CAST(:p AS jsonb)), " ASYNC_COMMIT, p);
}

}  // namespace scimbridge::db
