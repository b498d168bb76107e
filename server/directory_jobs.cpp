#include "server/directory_jobs.hpp"

#include <boost/json.hpp>

#include <map>

namespace scimbridge::server {

namespace json = boost::json;
using scim::ResourceKind;

namespace {

constexpr const char* kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
constexpr const char* kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
constexpr std::size_t kSamples = 50;  // people named per kind of change in a report

json::object user_body(json::object resource) {
    if (!resource.contains("schemas")) {
        resource["schemas"] = json::array{kUserSchema};
    }
    resource.erase("id");
    resource.erase("meta");
    return resource;
}

json::array members_json(const std::vector<std::string>& users, const std::vector<std::string>& groups) {
    json::array members;
    for (const std::string& id : users) {
        members.push_back(json::object{{"value", id}, {"type", "User"}});
    }
    for (const std::string& id : groups) {
        members.push_back(json::object{{"value", id}, {"type", "Group"}});
    }
    return members;
}

struct Applier {
    scim::ResourceService& resources;
    scim::CallContext ctx;
    JobContext& job;
    std::map<std::string, std::string> created;  // source id → canonical id (this run)
    json::array errors;
    std::size_t done = 0;

    void note(const std::string& what, const std::string& id, const scim::Error& e) {
        if (errors.size() < 50) {
            errors.push_back(json::object{{"operation", what}, {"id", id}, {"status", e.status}, {"detail", e.detail}});
        }
    }
    void progress(const char* phase) {
        ++done;
        if (done % 100 == 0) {
            job.pause_between_pages();  // 100 writes are a page: paced like a resync's walk (job_duty)
        }
        if (done % 500 == 0) {
            job.checkpoint(json::object{{"phase", phase}, {"done", done}});
        }
    }
    std::vector<std::string> resolve(std::vector<std::string> ids, const std::vector<std::string>& pending) {
        for (const std::string& source_id : pending) {
            if (const auto it = created.find(source_id); it != created.end()) {
                ids.push_back(it->second);
            }
        }
        return ids;
    }
};

}  // namespace

Job make_directory_job(mappers::DirectoryStore& store, scim::ResourceService& resources,
                       mappers::HttpTransport& transport, TenantRegistries& registries) {
    return [&store, &resources, &transport, &registries](JobContext& job) -> scim::Result<json::object> {
        if (!job.run.subject_id) {
            return scim::Error::bad_request("a directory job needs its source");
        }
        const auto source = store.source(*job.run.subject_id);
        if (!source) {
            return scim::Error::not_found("the directory source is gone");
        }
        auto client = mappers::make_directory_source(source->config);
        if (!client) {
            return client.error();
        }
        auto snapshot = (*client)->pull(transport, source->state);
        if (!snapshot) {
            return snapshot.error();
        }
        const auto users = store.canonical(source->tenant_id, ResourceKind::kUser);
        const auto groups = store.canonical(source->tenant_id, ResourceKind::kGroup);
        const mappers::SyncPlan plan = mappers::plan_directory_sync(*snapshot, users, groups);
        json::object report{{"source", source->id},
                            {"kind", source->kind},
                            {"pulled_users", snapshot->users.size()},
                            {"pulled_groups", snapshot->groups.size()},
                            {"complete", snapshot->complete},
                            {"requests", snapshot->requests},
                            {"create_users", plan.create_users.size()},
                            {"update_users", plan.update_users.size()},
                            {"delete_users", plan.delete_user_ids.size()},
                            {"create_groups", plan.create_groups.size()},
                            {"update_groups", plan.update_groups.size()},
                            {"delete_groups", plan.delete_group_ids.size()},
                            {"unchanged", plan.unchanged},
                            {"dry_run", job.run.dry_run}};
        // Which attributes drifted, by name (what an operator wants to see first).
        {
            std::map<std::string, const mappers::CanonicalEntry*> current;
            for (const mappers::CanonicalEntry& u : users) {
                current[u.id] = &u;
            }
            json::object drift;
            json::array updated;
            for (const auto& [id, u] : plan.update_users) {
                const auto it = current.find(id);
                json::array names;
                for (const auto& [k, v] : u.resource) {
                    if (it == current.end() || mappers::pulled_differs(it->second->resource, json::object{{k, v}})) {
                        drift[k] = (drift.contains(k) ? drift[k].to_number<std::int64_t>() : 0) + 1;
                        names.emplace_back(k);
                    }
                }
                if (updated.size() < kSamples) {
                    updated.push_back(json::object{{"id", id}, {"externalId", u.external_id}, {"attributes", std::move(names)}});
                }
            }
            report["changed_attributes"] = std::move(drift);
            // Which people (at most kSamples of each kind): the directory side of the three-way diff.
            json::array created;
            for (const mappers::DirectoryUser& u : plan.create_users) {
                if (created.size() == kSamples) break;
                created.push_back(json::object{{"externalId", u.external_id}});
            }
            json::array deleted;
            for (const std::string& id : plan.delete_user_ids) {
                if (deleted.size() == kSamples) break;
                const auto it = current.find(id);
                json::object d{{"id", id}};
                if (it != current.end() && !it->second->external_id.empty()) {
                    d["externalId"] = it->second->external_id;
                }
                deleted.push_back(std::move(d));
            }
            report["samples"] = json::object{{"create_users", std::move(created)},
                                             {"update_users", std::move(updated)},
                                             {"delete_users", std::move(deleted)}};
        }
        if (job.run.dry_run) {
            return report;  // the diff, nothing written (and the delta state kept)
        }
        const auto registry = registries.get(source->tenant_id);
        Applier a{resources, scim::CallContext{source->tenant_id, registry.get()}, job, {}, {}, 0};
        std::map<std::string, const mappers::CanonicalEntry*> by_id;
        for (const mappers::CanonicalEntry& u : users) {
            by_id[u.id] = &u;
        }
        for (const mappers::DirectoryUser& u : plan.create_users) {
            if (!job.keep_going()) return scim::Error::unavailable("stopped; the next run goes on");
            auto made = resources.create(a.ctx, ResourceKind::kUser, user_body(u.resource));
            if (made) {
                a.created[u.external_id] = made->id;
            } else {
                a.note("create_user", u.external_id, made.error());
            }
            a.progress("users");
        }
        for (const auto& [id, u] : plan.update_users) {
            if (!job.keep_going()) return scim::Error::unavailable("stopped; the next run goes on");
            const auto current = by_id.find(id);
            const json::object body = user_body(current == by_id.end()
                                                    ? u.resource
                                                    : mappers::apply_pulled(current->second->resource, u.resource));
            if (auto r = resources.replace(a.ctx, ResourceKind::kUser, id, body, "", {}); !r) {
                a.note("update_user", id, r.error());
            }
            a.progress("users");
        }
        for (const auto& [user_source, manager_source] : plan.pending_managers) {
            const auto user = a.created.find(user_source);
            const auto manager = a.created.find(manager_source);
            if (user == a.created.end() || manager == a.created.end()) {
                continue;
            }
            const json::value patch = json::object{
                {"schemas", json::array{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}},
                {"Operations", json::array{json::object{
                                   {"op", "add"},
                                   {"path", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
                                   {"value", json::object{{"value", manager->second}}}}}}};
            if (auto r = resources.patch(a.ctx, ResourceKind::kUser, user->second, patch, "", {}); !r) {
                a.note("set_manager", user->second, r.error());
            }
        }
        // Groups after users, so new members exist; created groups before updates that nest them.
        for (const mappers::PlannedGroup& g : plan.create_groups) {
            if (!job.keep_going()) return scim::Error::unavailable("stopped; the next run goes on");
            const json::object body{{"schemas", json::array{kGroupSchema}},
                                    {"externalId", g.external_id},
                                    {"displayName", g.display_name.empty() ? g.external_id : g.display_name},
                                    {"members", members_json(a.resolve(g.member_user_ids, g.pending_user_ids),
                                                             a.resolve(g.member_group_ids, {}))}};
            auto made = resources.create(a.ctx, ResourceKind::kGroup, body);
            if (made) {
                a.created[g.external_id] = made->id;
            } else {
                a.note("create_group", g.external_id, made.error());
            }
            a.progress("groups");
        }
        for (const auto& [id, g] : plan.update_groups) {
            if (!job.keep_going()) return scim::Error::unavailable("stopped; the next run goes on");
            const auto users_in = a.resolve(g.member_user_ids, g.pending_user_ids);
            const auto groups_in = a.resolve(g.member_group_ids, g.pending_group_ids);
            json::array ops;
            if (!g.display_name.empty()) {
                ops.push_back(json::object{{"op", "replace"}, {"path", "displayName"}, {"value", g.display_name}});
            }
            if (g.members_are_delta) {
                if (!users_in.empty() || !groups_in.empty()) {
                    ops.push_back(json::object{{"op", "add"}, {"path", "members"},
                                               {"value", members_json(users_in, groups_in)}});
                }
                for (const std::string& m : g.removed_member_user_ids) {
                    ops.push_back(json::object{{"op", "remove"}, {"path", "members[value eq \"" + m + "\"]"}});
                }
                for (const std::string& m : g.removed_member_group_ids) {
                    ops.push_back(json::object{{"op", "remove"}, {"path", "members[value eq \"" + m + "\"]"}});
                }
            } else {
                ops.push_back(json::object{{"op", "replace"}, {"path", "members"},
                                           {"value", members_json(users_in, groups_in)}});
            }
            const json::value patch = json::object{
                {"schemas", json::array{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}}, {"Operations", ops}};
            if (auto r = resources.patch(a.ctx, ResourceKind::kGroup, id, patch, "", {}); !r) {
                a.note("update_group", id, r.error());
            }
            a.progress("groups");
        }
        for (const std::string& id : plan.delete_group_ids) {
            if (auto r = resources.remove(a.ctx, ResourceKind::kGroup, id, ""); !r && r.error().status != 404) {
                a.note("delete_group", id, r.error());
            }
            a.progress("deletes");
        }
        for (const std::string& id : plan.delete_user_ids) {
            if (auto r = resources.remove(a.ctx, ResourceKind::kUser, id, ""); !r && r.error().status != 404) {
                a.note("delete_user", id, r.error());
            }
            a.progress("deletes");
        }
        // The delta state moves on only once everything of this pull is applied.
        store.save_state(source->id, snapshot->next_state);
        report["errors"] = std::move(a.errors);
        return report;
    };
}

}  // namespace scimbridge::server
