// Any SCIM 2.0 service provider as a directory source (RFC 7644 as a client): /Users and
// /Groups listed by index (startIndex, count), the remote id becoming the externalId. A SCIM
// resource is already canonical, so a user is copied as it is minus what belongs to the remote
// server (id, meta, password, the read-only groups). Attributes the remote does not return are
// not supplied: a SCIM source never clears what another path set.

#include <map>
#include <set>

#include <boost/json/string.hpp>

#include "mappers/directory_client.hpp"
#include "scim/schema.hpp"

namespace scimbridge::mappers::directory_detail {

namespace {

namespace json = boost::json;

constexpr std::size_t kDefaultPageSize = 500;
constexpr std::size_t kMaxPageSize = 1000;

struct ScimSourceConfig {
    std::string base_url;
    std::string bearer_token;
    std::size_t page_size = kDefaultPageSize;
    std::string sort_by;
};

bool remote_only(std::string_view key) {
    return scim::iequals(key, "id") || scim::iequals(key, "meta") ||
           scim::iequals(key, "password") || scim::iequals(key, "groups") ||
           scim::iequals(key, "externalId");
}

std::optional<std::size_t> count_member(const json::object& o, std::string_view key) {
    const json::value* v = scim::find_ci(o, key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64() && v->get_int64() >= 0) {
        return static_cast<std::size_t>(v->get_int64());
    }
    if (v->is_uint64()) {
        return static_cast<std::size_t>(v->get_uint64());
    }
    return std::nullopt;
}

struct PulledMember {
    std::string value;
    std::string type;  // "User", "Group" or "" (decided once both lists are known)
};

struct PulledGroup {
    DirectoryGroup group;
    std::vector<PulledMember> members;
};

class ScimSource final : public DirectorySource {
public:
    ScimSource(ScimSourceConfig config, PullLimits limits, WallClock clock)
        : config_(std::move(config)), limits_(limits), clock_(std::move(clock)) {}

    scim::Result<DirectorySnapshot> pull(HttpTransport& transport,
                                         std::string_view /*state: always full*/) override {
        PullClient client(transport, limits_, clock_, {config_.bearer_token});
        DirectorySnapshot snapshot;
        std::set<std::string, std::less<>> user_ids;
        auto users_complete = list(
            client,
            "Users",
            [&](const json::object& r, const std::string& id) -> std::optional<scim::Error> {
                if (user_ids.size() >= limits_.max_users) {
                    return upstream_error("SCIM source Users: more than " +
                                          std::to_string(limits_.max_users) + " users (max_users)");
                }
                user_ids.insert(id);
                snapshot.users.push_back(map_user(r, id));
                return std::nullopt;
            });
        if (!users_complete) {
            return users_complete.error();
        }

        std::vector<PulledGroup> groups;
        std::set<std::string, std::less<>> group_ids;
        auto groups_complete =
            list(client,
                 "Groups",
                 [&](const json::object& r, const std::string& id) -> std::optional<scim::Error> {
                     if (groups.size() >= limits_.max_groups) {
                         return upstream_error("SCIM source Groups: more than " +
                                               std::to_string(limits_.max_groups) +
                                               " groups (max_groups)");
                     }
                     group_ids.insert(id);
                     groups.push_back(map_group(r, id));
                     return std::nullopt;
                 });
        if (!groups_complete) {
            return groups_complete.error();
        }

        for (PulledGroup& pulled : groups) {
            for (const PulledMember& m : pulled.members) {
                // A member without a type is a group when the remote listed such a group.
                const bool group = scim::iequals(m.type, "Group") ||
                                   (m.type.empty() && group_ids.count(m.value) != 0 &&
                                    user_ids.count(m.value) == 0);
                (group ? pulled.group.member_group_ids : pulled.group.member_user_ids)
                    .push_back(m.value);
            }
            snapshot.groups.push_back(std::move(pulled.group));
        }
        snapshot.complete = *users_complete && *groups_complete;
        snapshot.requests = client.requests();
        return snapshot;
    }

private:
    static DirectoryUser map_user(const json::object& r, const std::string& id) {
        DirectoryUser user;
        user.external_id = id;
        for (const auto& [key, value] : r) {
            if (!remote_only(key)) {
                user.resource[key] = value;
            }
        }
        user.resource["externalId"] = id;
        if (scim::find_ci(user.resource, "schemas") == nullptr) {
            user.resource["schemas"] = user_schemas(false);
        }
        return user;
    }

    static PulledGroup map_group(const json::object& r, const std::string& id) {
        PulledGroup pulled;
        pulled.group.external_id = id;
        if (const json::value* name = scim::find_ci(r, "displayName"); name && name->is_string()) {
            pulled.group.display_name = std::string(name->get_string());
        }
        const json::value* members = scim::find_ci(r, "members");
        if (members == nullptr || !members->is_array()) {
            return pulled;
        }
        for (const json::value& v : members->get_array()) {
            if (!v.is_object()) {
                continue;
            }
            const auto value = id_member(v.get_object(), "value");
            if (!value) {
                continue;
            }
            std::string type;
            if (const json::value* t = scim::find_ci(v.get_object(), "type"); t && t->is_string()) {
                type = std::string(t->get_string());
            }
            pulled.members.push_back({*value, std::move(type)});
        }
        return pulled;
    }

    // Lists an endpoint by index (RFC 7644 §3.4.2.4); answers whether it saw totalResults
    // resources. The listing ends when totalResults is reached, on an empty page, or on a short
    // page (fewer than the page size the server works with: count, or a smaller itemsPerPage).
    template <class OnResource>
    scim::Result<bool> list(PullClient& client,
                            std::string_view endpoint,
                            OnResource&& on_resource) {
        const std::string listing = "SCIM source " + std::string(endpoint);
        PageGuard guard(listing, limits_.max_pages);
        std::set<std::string, std::less<>> seen;
        std::size_t start = 1;
        std::size_t collected = 0;
        std::optional<std::size_t> total;
        for (;;) {
            std::string url = config_.base_url + "/" + std::string(endpoint) +
                              "?startIndex=" + std::to_string(start) +
                              "&count=" + std::to_string(config_.page_size);
            if (!config_.sort_by.empty()) {
                url += "&sortBy=" + percent_encode(config_.sort_by);
            }
            const HttpResponse response =
                client.get(url,
                           {{"Authorization", "Bearer " + config_.bearer_token},
                            {"Accept", "application/scim+json, application/json"}});
            auto page =
                client.json_object(response, listing + " page " + std::to_string(guard.pages()));
            if (!page) {
                return page.error();
            }
            total = count_member(*page, "totalResults");
            std::size_t page_size = config_.page_size;
            if (const auto per_page = count_member(*page, "itemsPerPage");
                per_page && *per_page > 0) {
                page_size = std::min(page_size, *per_page);
            }
            std::size_t listed = 0;
            if (const json::value* resources = scim::find_ci(*page, "Resources");
                resources != nullptr && resources->is_array()) {
                for (const json::value& r : resources->get_array()) {
                    ++listed;
                    if (!r.is_object()) {
                        continue;
                    }
                    const auto id = id_member(r.get_object(), "id");
                    if (!id) {
                        continue;
                    }
                    if (!seen.insert(*id).second) {
                        return upstream_error(listing + ": resource " + *id +
                                              " listed twice (does the server ignore startIndex?)");
                    }
                    if (auto stop = on_resource(r.get_object(), *id)) {
                        return *stop;
                    }
                }
            }
            collected += listed;
            const bool reached = total && collected >= *total;
            if (listed == 0 || reached || listed < page_size) {
                return !total || collected >= *total;
            }
            start += listed;
            if (auto stop = guard.next(std::to_string(start))) {
                return *stop;
            }
        }
    }

    ScimSourceConfig config_;
    PullLimits limits_;
    WallClock clock_;
};

}  // namespace

scim::Result<std::unique_ptr<DirectorySource>> make_scim_source(const json::object& config,
                                                                PullLimits limits,
                                                                WallClock clock) {
    if (auto bad = unknown_fields(config,
                                  {"kind",
                                   "base_url",
                                   "bearer_token",
                                   "page_size",
                                   "sort_by",
                                   "max_users",
                                   "max_groups",
                                   "max_pages",
                                   "timeout_seconds"},
                                  "")) {
        return *bad;
    }
    ScimSourceConfig c;
    if (auto e = take(c.base_url, config_url(config, "base_url", "", std::nullopt))) {
        return *e;
    }
    if (auto e = take(c.bearer_token, config_string(config, "bearer_token", "", std::nullopt, 4096))) {
        return *e;
    }
    if (const json::value* size = config.if_contains("page_size"); size && !size->is_null()) {
        if (!size->is_int64() || size->get_int64() < 1 ||
            size->get_int64() > static_cast<std::int64_t>(kMaxPageSize)) {
            return scim::Error::invalid_value("page_size must be an integer from 1 to " +
                                              std::to_string(kMaxPageSize));
        }
        c.page_size = static_cast<std::size_t>(size->get_int64());
    }
    if (const json::value* sort = config.if_contains("sort_by"); sort && !sort->is_null()) {
        if (!sort->is_string() || sort->get_string().size() > 256) {
            return scim::Error::invalid_value("sort_by must be an attribute name (or \"\")");
        }
        c.sort_by = std::string(sort->get_string());
    } else {
        c.sort_by = "id";
    }
    return std::unique_ptr<DirectorySource>(
        std::make_unique<ScimSource>(std::move(c), limits, std::move(clock)));
}

}  // namespace scimbridge::mappers::directory_detail
