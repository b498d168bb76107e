// Microsoft Graph (Entra ID) as a directory source. An app registration's client credentials
// buy an access token; users and groups are read through Graph's delta queries, so the first
// pull lists everything and hands back delta links, and later pulls ask only for what changed
// (users and groups that changed or went away, and members@delta: members added and removed).
// Graph answers "resync required" (410 Gone) when a delta link is too old; the pull then starts
// over in full, which the plan handles like any complete snapshot.

#include <algorithm>
#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "mappers/directory_client.hpp"
#include "scim/schema.hpp"
#include "scim/text.hpp"

namespace scimbridge::mappers::directory_detail {

namespace {

namespace json = boost::json;

constexpr std::string_view kUserSelect =
    "id,userPrincipalName,givenName,surname,displayName,mail,accountEnabled,jobTitle,department,"
    "employeeId,mobilePhone,businessPhones";
constexpr std::string_view kGroupSelect = "id,displayName,members";
constexpr std::string_view kUserType = "#microsoft.graph.user";
constexpr std::string_view kGroupType = "#microsoft.graph.group";
constexpr std::chrono::seconds kRenewBefore{300};
constexpr std::chrono::seconds kDefaultTokenLifetime{3600};
constexpr std::size_t kMaxStateBytes = 64 * 1024;

struct GraphConfig {
    std::string tenant_id;
    std::string client_id;
    std::string client_secret;
    std::string login_url;
    std::string graph_url;
};

struct DeltaLinks {
    std::string users;
    std::string groups;
};

// Merges a later sighting of the same object into an earlier one: Graph may return an object
// more than once in one round, each time with some of its properties.
void merge_into(json::object& into, const json::object& from) {
    for (const auto& [key, value] : from) {
        json::value* present = into.if_contains(key);
        if (present != nullptr && present->is_object() && value.is_object()) {
            merge_into(present->get_object(), value.get_object());
        } else {
            into[key] = value;
        }
    }
}

// A Graph user as a canonical SCIM user. Properties absent from the answer stay absent (a delta
// sends the ones it has); a null or "" property is null (cleared).
std::optional<DirectoryUser> map_user(const json::object& u) {
    const auto id = id_member(u, "id");
    if (!id) {
        return std::nullopt;
    }
    json::object r{{"externalId", *id}};
    if (const auto upn = string_member(u, "userPrincipalName"); upn && !upn->empty()) {
        r["userName"] = *upn;
    }
    if (const auto enabled = bool_member(u, "accountEnabled")) {
        r["active"] = *enabled;
    }
    const auto given = nullable_string(u, "givenName");
    const auto surname = nullable_string(u, "surname");
    if (given || surname) {
        json::object name;
        if (given) {
            name["givenName"] = *given;
        }
        if (surname) {
            name["familyName"] = *surname;
        }
        if (given && surname) {
            std::string formatted;
            for (const json::value* part : {&*given, &*surname}) {
                if (part->is_string()) {
                    formatted += formatted.empty() ? "" : " ";
                    formatted += part->get_string();
                }
            }
            name["formatted"] = formatted.empty() ? json::value(nullptr) : json::value(formatted);
        }
        r["name"] = std::move(name);
    }
    if (const auto display = nullable_string(u, "displayName")) {
        r["displayName"] = *display;
    }
    if (const auto mail = nullable_string(u, "mail")) {
        r["emails"] = mail->is_null()
                          ? json::value(nullptr)
                          : json::value(json::array{json::object{
                                {"value", *mail}, {"type", "work"}, {"primary", true}}});
    }
    if (const auto title = nullable_string(u, "jobTitle")) {
        r["title"] = *title;
    }
    const json::value* business = u.if_contains("businessPhones");
    const auto mobile = nullable_string(u, "mobilePhone");
    if (business != nullptr || mobile) {
        json::array phones;
        if (business != nullptr && business->is_array()) {
            for (const json::value& p : business->get_array()) {
                if (p.is_string() && !p.get_string().empty()) {
                    phones.push_back(json::object{{"value", p}, {"type", "work"}});
                }
            }
        }
        if (mobile && mobile->is_string()) {
            phones.push_back(json::object{{"value", *mobile}, {"type", "mobile"}});
        }
        r["phoneNumbers"] = phones.empty() ? json::value(nullptr) : json::value(std::move(phones));
    }
    json::object enterprise;
    if (const auto department = nullable_string(u, "department")) {
        enterprise["department"] = *department;
    }
    if (const auto employee = nullable_string(u, "employeeId")) {
        enterprise["employeeNumber"] = *employee;
    }
    const bool has_enterprise = !enterprise.empty();
    if (has_enterprise) {
        r[scim::kEnterpriseUserSchema] = std::move(enterprise);
    }
    r["schemas"] = user_schemas(has_enterprise);
    return DirectoryUser{*id, std::move(r)};
}

// What one round of a delta listing gathers (a full pull is a delta round from nothing).
struct GroupChanges {
    std::string display_name;
    std::set<std::string> users_added;
    std::set<std::string> groups_added;
    std::set<std::string> users_removed;
    std::set<std::string> groups_removed;
};

struct Round {
    bool delta = false;  // false: a full listing ("@removed" entries are skipped)
    std::map<std::string, DirectoryUser> users;
    std::set<std::string> removed_users;
    std::map<std::string, GroupChanges> groups;
    std::set<std::string> removed_groups;
};

bool is_resync(const HttpResponse& response) {
    if (response.outcome != HttpResponse::Outcome::kOk) {
        return false;
    }
    if (response.status == 410) {
        return true;
    }
    if (response.status != 400) {
        return false;
    }
    json::error_code ec;
    const json::value body = json::parse(response.body, ec);
    if (ec || !body.is_object()) {
        return false;
    }
    const json::object* error = object_member(body.get_object(), "error");
    const auto code = error != nullptr ? string_member(*error, "code") : std::nullopt;
    return code &&
           (scim::iequals(*code, "resyncRequired") || scim::iequals(*code, "syncStateNotFound") ||
            scim::iequals(*code, "syncStateInvalid"));
}

class GraphSource final : public DirectorySource {
public:
    GraphSource(GraphConfig config, PullLimits limits, WallClock clock)
        : config_(std::move(config)), limits_(limits), clock_(std::move(clock)) {}

    scim::Result<DirectorySnapshot> pull(HttpTransport& transport,
                                         std::string_view state) override {
        PullClient client(transport, limits_, clock_, {config_.client_secret});
        if (!access_token_.empty()) {
            client.add_secret(access_token_);
        }
        auto snapshot = pull_with(client, state);
        if (snapshot) {
            snapshot->requests = client.requests();
        }
        return snapshot;
    }

private:
    enum class Outcome { kDone, kResync };

    scim::Result<DirectorySnapshot> pull_with(PullClient& client, std::string_view state) {
        if (!state.empty()) {
            auto links = read_state(state);
            if (!links) {
                return links.error();
            }
            Round round;
            round.delta = true;
            DeltaLinks next;
            auto outcome = run_round(client, links->users, links->groups, round, next);
            if (!outcome) {
                return outcome.error();
            }
            if (*outcome == Outcome::kDone) {
                return snapshot_of(std::move(round), next);
            }
            // Resync required: the delta links are too old; list everything again.
        }
        Round round;
        DeltaLinks next;
        auto outcome =
            run_round(client,
                      config_.graph_url + "/v1.0/users/delta?$select=" + std::string(kUserSelect),
                      config_.graph_url + "/v1.0/groups/delta?$select=" + std::string(kGroupSelect),
                      round,
                      next);
        if (!outcome) {
            return outcome.error();
        }
        if (*outcome == Outcome::kResync) {
            return upstream_error("Graph: resync required on a full listing");
        }
        return snapshot_of(std::move(round), next);
    }

    DirectorySnapshot snapshot_of(Round round, const DeltaLinks& next) const {
        DirectorySnapshot s;
        s.complete = !round.delta;
        for (auto& [id, user] : round.users) {
            (void)id;
            s.users.push_back(std::move(user));
        }
        for (auto& [id, changes] : round.groups) {
            DirectoryGroup g;
            g.external_id = id;
            g.display_name = std::move(changes.display_name);
            g.members_are_delta = round.delta;
            g.member_user_ids.assign(changes.users_added.begin(), changes.users_added.end());
            g.member_group_ids.assign(changes.groups_added.begin(), changes.groups_added.end());
            g.removed_member_user_ids.assign(changes.users_removed.begin(),
                                             changes.users_removed.end());
            g.removed_member_group_ids.assign(changes.groups_removed.begin(),
                                              changes.groups_removed.end());
            s.groups.push_back(std::move(g));
        }
        if (round.delta) {
            s.removed_user_ids.assign(round.removed_users.begin(), round.removed_users.end());
            s.removed_group_ids.assign(round.removed_groups.begin(), round.removed_groups.end());
        }
        s.next_state =
            json::serialize(json::object{{"users", next.users}, {"groups", next.groups}});
        return s;
    }

    scim::Result<DeltaLinks> read_state(std::string_view state) const {
        const auto bad = [] {
            return scim::Error::invalid_value(
                "state: not a Graph delta state from this source (pull with an empty state)");
        };
        if (state.size() > kMaxStateBytes) {
            return bad();
        }
        json::error_code ec;
        const json::value parsed = json::parse(state, ec);
        if (ec || !parsed.is_object()) {
            return bad();
        }
        const auto users = string_member(parsed.get_object(), "users");
        const auto groups = string_member(parsed.get_object(), "groups");
        const std::string origin = url_origin(config_.graph_url);
        if (!users || !groups || url_origin(*users) != origin || url_origin(*groups) != origin) {
            return bad();
        }
        return DeltaLinks{*users, *groups};
    }

    scim::Result<Outcome> run_round(PullClient& client,
                                    const std::string& users_url,
                                    const std::string& groups_url,
                                    Round& round,
                                    DeltaLinks& next) {
        auto users =
            list(client, users_url, "Graph users", round.delta, [&](const json::object& item) {
                return on_user(item, round);
            });
        if (!users) {
            return users.error();
        }
        if (users->empty()) {
            return Outcome::kResync;
        }
        next.users = *users;
        auto groups =
            list(client, groups_url, "Graph groups", round.delta, [&](const json::object& item) {
                return on_group(item, round);
            });
        if (!groups) {
            return groups.error();
        }
        if (groups->empty()) {
            return Outcome::kResync;
        }
        next.groups = *groups;
        return Outcome::kDone;
    }

    std::optional<scim::Error> on_user(const json::object& item, Round& round) const {
        const auto id = id_member(item, "id");
        if (!id) {
            return std::nullopt;
        }
        if (item.if_contains("@removed") != nullptr) {
            round.users.erase(*id);
            if (round.delta) {
                round.removed_users.insert(*id);
            }
            return std::nullopt;
        }
        auto mapped = map_user(item);
        if (!mapped) {
            return std::nullopt;
        }
        round.removed_users.erase(*id);
        const auto it = round.users.find(*id);
        if (it != round.users.end()) {
            merge_into(it->second.resource, mapped->resource);
            return std::nullopt;
        }
        if (round.users.size() >= limits_.max_users) {
            return upstream_error("Graph users: more than " + std::to_string(limits_.max_users) +
                                  " users (max_users)");
        }
        round.users.emplace(*id, std::move(*mapped));
        return std::nullopt;
    }

    std::optional<scim::Error> on_group(const json::object& item, Round& round) const {
        const auto id = id_member(item, "id");
        if (!id) {
            return std::nullopt;
        }
        if (item.if_contains("@removed") != nullptr) {
            round.groups.erase(*id);
            if (round.delta) {
                round.removed_groups.insert(*id);
            }
            return std::nullopt;
        }
        round.removed_groups.erase(*id);
        auto it = round.groups.find(*id);
        if (it == round.groups.end()) {
            if (round.groups.size() >= limits_.max_groups) {
                return upstream_error("Graph groups: more than " +
                                      std::to_string(limits_.max_groups) + " groups (max_groups)");
            }
            it = round.groups.emplace(*id, GroupChanges{}).first;
        }
        GroupChanges& g = it->second;
        if (const auto name = string_member(item, "displayName"); name && !name->empty()) {
            g.display_name = *name;
        }
        const json::array* members = array_member(item, "members@delta");
        if (members == nullptr) {
            return std::nullopt;
        }
        for (const json::value& v : *members) {
            if (!v.is_object()) {
                continue;
            }
            const json::object& m = v.get_object();
            const auto member_id = id_member(m, "id");
            const auto type = string_member(m, "@odata.type");
            if (!member_id || !type) {
                continue;
            }
            const bool user = scim::iequals(*type, kUserType);
            if (!user && !scim::iequals(*type, kGroupType)) {
                continue;  // devices, contacts, service principals: not SCIM members
            }
            auto& added = user ? g.users_added : g.groups_added;
            auto& removed = user ? g.users_removed : g.groups_removed;
            if (m.if_contains("@removed") != nullptr) {
                added.erase(*member_id);
                if (round.delta) {
                    removed.insert(*member_id);
                }
            } else {
                removed.erase(*member_id);
                added.insert(*member_id);
            }
        }
        return std::nullopt;
    }

    // Follows @odata.nextLink to the @odata.deltaLink and answers it; "" when Graph asked for a
    // resync (only honoured in a delta round).
    template <class OnItem>
    scim::Result<std::string> list(PullClient& client,
                                   const std::string& start,
                                   const std::string& listing,
                                   bool delta,
                                   OnItem&& on_item) {
        PageGuard guard(listing, limits_.max_pages);
        const std::string origin = url_origin(config_.graph_url);
        std::string url = start;
        for (;;) {
            auto response = api_get(client, url);
            if (!response) {
                return response.error();
            }
            if (delta && is_resync(*response)) {
                return std::string();
            }
            auto page =
                client.json_object(*response, listing + " page " + std::to_string(guard.pages()));
            if (!page) {
                return page.error();
            }
            if (const json::array* items = array_member(*page, "value")) {
                for (const json::value& item : *items) {
                    if (item.is_object()) {
                        if (auto stop = on_item(item.get_object())) {
                            return *stop;
                        }
                    }
                }
            }
            // The token goes only where graph_url points: a link elsewhere is refused.
            if (const auto next_link = string_member(*page, "@odata.nextLink")) {
                if (url_origin(*next_link) != origin) {
                    return upstream_error(listing + ": @odata.nextLink leaves graph_url");
                }
                if (auto stop = guard.next(*next_link)) {
                    return *stop;
                }
                url = *next_link;
                continue;
            }
            if (const auto delta_link = string_member(*page, "@odata.deltaLink")) {
                if (url_origin(*delta_link) != origin || delta_link->empty()) {
                    return upstream_error(listing + ": @odata.deltaLink leaves graph_url");
                }
                return *delta_link;
            }
            return upstream_error(listing +
                                  ": a page with neither @odata.nextLink nor @odata.deltaLink");
        }
    }

    // GET with the bearer token (renewed once on a 401).
    scim::Result<HttpResponse> api_get(PullClient& client, const std::string& url) {
        return client.get_with_bearer(url, [&](bool renew) { return access_token(client, renew); });
    }

    scim::Result<std::string> access_token(PullClient& client, bool renew) {
        const auto now = client.now();
        if (!renew && !access_token_.empty() && now + kRenewBefore < token_expiry_) {
            return access_token_;
        }
        access_token_.clear();
        HttpRequest request;
        request.method = "POST";
        request.url =
            config_.login_url + "/" + percent_encode(config_.tenant_id) + "/oauth2/v2.0/token";
        request.headers["Content-Type"] = "application/x-www-form-urlencoded";
        request.headers["Accept"] = "application/json";
        request.body = form_body({{"client_id", config_.client_id},
                                  {"client_secret", config_.client_secret},
                                  {"scope", "https://graph.microsoft.com/.default"},
                                  {"grant_type", "client_credentials"}});
        const HttpResponse response = client.send(std::move(request));
        auto body =
            client.json_object(response, "Graph token request (client-credentials authentication)");
        if (!body) {
            return body.error();
        }
        const auto token = string_member(*body, "access_token");
        if (!token || token->empty()) {
            return upstream_error("Graph token request: the answer has no access_token");
        }
        std::chrono::seconds lifetime = kDefaultTokenLifetime;
        if (const json::value* expires = body->if_contains("expires_in")) {
            // Microsoft sends a number; older endpoints a numeric string.
            std::int64_t seconds = 0;
            if (expires->is_int64()) {
                seconds = expires->get_int64();
            } else if (expires->is_string()) {
                const std::string_view text = expires->get_string();
                if (!text.empty() && text.size() < 10 &&
                    std::all_of(
                        text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                    seconds = std::stoll(std::string(text));
                }
            }
            if (seconds > 0) {
                lifetime = std::chrono::seconds(seconds);
            }
        }
        access_token_ = *token;
        token_expiry_ = now + lifetime;
        client.add_secret(access_token_);
        return access_token_;
    }

    GraphConfig config_;
    PullLimits limits_;
    WallClock clock_;
    std::string access_token_;
    std::chrono::system_clock::time_point token_expiry_{};
};

bool tenant_text(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_';
    });
}

}  // namespace

scim::Result<std::unique_ptr<DirectorySource>> make_graph_source(const json::object& config,
                                                                 PullLimits limits,
                                                                 WallClock clock) {
    if (auto bad = unknown_fields(config,
                                  {"kind",
                                   "tenant_id",
                                   "client_id",
                                   "client_secret",
                                   "login_url",
                                   "graph_url",
                                   "max_users",
                                   "max_groups",
                                   "max_pages",
                                   "timeout_seconds"},
                                  "")) {
        return *bad;
    }
    GraphConfig c;
    auto tenant = config_string(config, "tenant_id", "", std::nullopt, 256);
    if (!tenant) {
        return tenant.error();
    }
    if (!tenant_text(*tenant)) {
        return scim::Error::invalid_value("tenant_id must be a tenant GUID or domain name");
    }
    c.tenant_id = *tenant;
    if (auto e = take(c.client_id, config_string(config, "client_id", "", std::nullopt, 256))) {
        return *e;
    }
    if (auto e = take(c.client_secret, config_string(config, "client_secret", "", std::nullopt, 4096))) {
        return *e;
    }
    if (auto e = take(c.login_url, config_url(config, "login_url", "", "https://login.microsoftonline.com"))) {
        return *e;
    }
    if (auto e = take(c.graph_url, config_url(config, "graph_url", "", "https://graph.microsoft.com"))) {
        return *e;
    }
    return std::unique_ptr<DirectorySource>(
        std::make_unique<GraphSource>(std::move(c), limits, std::move(clock)));
}

}  // namespace scimbridge::mappers::directory_detail
