// The outbound SCIM 2.0 connector (RFC 7644 as a client). One attempt sends the requests one
// event needs, in order; the first one that fails ends the attempt with its classification, and a
// retry sends everything again. That is safe because every step is idempotent at a compliant
// server: a replayed create gets 409 and is adopted by a filter lookup (reliability plan §2.2,
// test D9), PUT replaces, deactivation sets a value, and adding a present member or removing an
// absent one changes nothing.

#include "mappers/connector.hpp"

#include "scim/schema.hpp"
#include "scim/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <utility>
#include <variant>

namespace scimbridge::mappers {

namespace {

namespace json = boost::json;
using Kind = DeliveryResult::Kind;

constexpr std::string_view kPatchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
constexpr std::string_view kScimMediaType = "application/scim+json";

// The two resource endpoints and what tells their resources apart besides externalId.
struct Endpoint {
    std::string_view path;            // "/Users"
    std::string_view schema;          // core schema URN
    std::string_view name_attribute;  // the second adoption key: userName or displayName
    std::string_view noun;            // for details
    bool users;
};
constexpr Endpoint kUsers{"/Users", scim::kUserSchema, "userName", "account", true};
constexpr Endpoint kGroups{"/Groups", scim::kGroupSchema, "displayName", "group", false};

bool is_2xx(const HttpResponse& r) {
    return r.outcome == HttpResponse::Outcome::kOk && r.status >= 200 && r.status <= 299;
}

bool is_status(const HttpResponse& r, int status) {
    return r.outcome == HttpResponse::Outcome::kOk && r.status == status;
}

// Percent-encodes everything but RFC 3986 unreserved characters: safe in a path segment and in a
// query value alike.
std::string percent_encode(std::string_view text) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[byte >> 4U]);
            out.push_back(kHex[byte & 0x0fU]);
        }
    }
    return out;
}

// A filter compValue string is a JSON string (RFC 7644 §3.4.2.2): '"', '\' and control
// characters are escaped exactly as JSON escapes them.
std::string filter_literal(std::string_view value) {
    return json::serialize(json::string(value));
}

std::string eq_filter(std::string_view attribute, std::string_view value) {
    return std::string(attribute) + " eq " + filter_literal(value);
}

std::optional<std::string> string_member(const json::object& o, std::string_view name) {
    const json::value* v = scim::find_ci(o, name);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string(v->get_string());
}

// Attributes a client never sends in a resource body: the server's own, and (for groups) the
// member list, which goes in bounded PATCH requests instead.
bool is_server_attribute(std::string_view name, const Endpoint& endpoint) {
    return scim::iequals(name, "schemas") || scim::iequals(name, "id") ||
           scim::iequals(name, "meta") || (!endpoint.users && scim::iequals(name, "members"));
}

// The core schema, the schemas the mapped data names, and the URN of every extension object in it.
json::array schemas_for(const Endpoint& endpoint, const json::object& data) {
    json::array out{json::string(endpoint.schema)};
    const auto add = [&out](std::string_view urn) {
        const bool present = std::any_of(out.begin(), out.end(), [urn](const json::value& v) {
            return scim::iequals(v.get_string(), urn);
        });
        if (!present) {
            out.emplace_back(json::string(urn));
        }
    };
    if (const json::value* given = scim::find_ci(data, "schemas");
        given != nullptr && given->is_array()) {
        for (const json::value& v : given->get_array()) {
            if (v.is_string()) {
                add(v.get_string());
            }
        }
    }
    for (const auto& [key, value] : data) {
        if (key.size() > 4 && scim::iequals(key.substr(0, 4), "urn:") && value.is_object()) {
            add(key);
        }
    }
    return out;
}

json::object patch_body(json::array operations) {
    return json::object{{"schemas", json::array{json::string(kPatchOpSchema)}},
                        {"Operations", std::move(operations)}};
}

// Either the remote id a step established, or the result that ends the attempt.
using IdOrEnd = std::variant<std::string, DeliveryResult>;

class Attempt {
public:
    Attempt(const ScimTargetConfig& config,
            const WallClock& clock,
            HttpTransport& transport,
            const OutboundEvent& event)
        : config_(config), clock_(clock), transport_(transport), event_(event) {}

    DeliveryResult run() {
        switch (event_.type) {
            case EventType::kUserCreated:
            case EventType::kUserUpdated:
            case EventType::kUserReactivated:
                return event_.remote_id ? replace_user(*event_.remote_id) : create_user();
            case EventType::kUserDeactivated:
                return deactivate_user();
            case EventType::kUserDeleted:
                return config_.delete_users ? delete_resource(kUsers) : deactivate_user();
            case EventType::kGroupCreated:
            case EventType::kGroupUpdated:
                return upsert_group();
            case EventType::kGroupDeleted:
                return delete_resource(kGroups);
            default:
                // account.* events are not for SCIM apps (the delivery worker does not send them).
                return end(Kind::kDone, "account event: nothing to send to a SCIM app");
        }
        return end(Kind::kPermanent, "unknown event type");
    }

private:
    // ---- users ------------------------------------------------------------------------------

    DeliveryResult create_user() {
        const json::object body = resource_body(kUsers, std::nullopt);
        const HttpResponse response = send("POST", std::string(kUsers.path), &body);
        if (is_status(response, 409)) {
            return adopt_user(body);
        }
        if (!is_2xx(response)) {
            return failed(response, "POST", kUsers.path);
        }
        IdOrEnd id = created_id(kUsers, response, body);
        if (auto* stop = std::get_if<DeliveryResult>(&id)) {
            return std::move(*stop);
        }
        result_.remote_id = std::get<std::string>(id);
        return end(Kind::kDone, "created");
    }

    // RFC 7644 §3.3: a replayed create (our earlier POST succeeded, its answer was lost) or an
    // account made by someone else gets 409. Find it and make it current with a PUT.
    DeliveryResult adopt_user(const json::object& body) {
        IdOrEnd found = find_existing(kUsers, body, "409 on create");
        if (auto* stop = std::get_if<DeliveryResult>(&found)) {
            return std::move(*stop);
        }
        const std::string id = std::get<std::string>(found);
        result_.remote_id = id;
        const std::string path = resource_path(kUsers, id);
        const json::object replacement = resource_body(kUsers, id);
        const HttpResponse response = send("PUT", path, &replacement);
        if (!is_2xx(response)) {
            return failed(response, "PUT", path);
        }
        return end(Kind::kDone, "adopted the existing account after 409");
    }

    DeliveryResult replace_user(const std::string& remote_id) {
        const std::string path = resource_path(kUsers, remote_id);
        const json::object body = resource_body(kUsers, remote_id);
        const HttpResponse response = send("PUT", path, &body);
        if (is_status(response, 404)) {
            // The remote account vanished (deleted by hand in the app): create it again.
            note("the remote account was gone (404), created again");
            return create_user();
        }
        if (!is_2xx(response)) {
            return failed(response, "PUT", path);
        }
        result_.remote_id = remote_id;
        return end(Kind::kDone, "replaced");
    }

    DeliveryResult deactivate_user() {
        if (!event_.remote_id) {
            return end(Kind::kDone, "no remote account");
        }
        const std::string path = resource_path(kUsers, *event_.remote_id);
        const json::object body = patch_body(
            json::array{json::object{{"op", "replace"}, {"path", "active"}, {"value", false}}});
        const HttpResponse response = send("PATCH", path, &body);
        if (is_status(response, 404)) {
            return end(Kind::kDone, "remote account not found (404), nothing to deactivate");
        }
        if (!is_2xx(response)) {
            return failed(response, "PATCH", path);
        }
        return end(Kind::kDone, "deactivated");
    }

    DeliveryResult delete_resource(const Endpoint& endpoint) {
        if (!event_.remote_id) {
            return end(Kind::kDone, "no remote " + std::string(endpoint.noun));
        }
        const std::string path = resource_path(endpoint, *event_.remote_id);
        const HttpResponse response = send("DELETE", path, nullptr);
        if (is_status(response, 404)) {
            return end(Kind::kDone, "remote " + std::string(endpoint.noun) + " already gone (404)");
        }
        if (!is_2xx(response)) {
            return failed(response, "DELETE", path);
        }
        return end(Kind::kDone, "deleted");
    }

    // ---- groups -----------------------------------------------------------------------------

    DeliveryResult upsert_group() {
        std::string remote_id;
        if (event_.remote_id) {
            remote_id = *event_.remote_id;
            // group.created for a group the app already has: make every attribute current.
            const bool all = event_.type == EventType::kGroupCreated;
            if (auto stop = patch_attributes(remote_id, attribute_operations(all))) {
                return std::move(*stop);
            }
        } else {
            IdOrEnd created = create_group();
            if (auto* stop = std::get_if<DeliveryResult>(&created)) {
                return std::move(*stop);
            }
            remote_id = std::get<std::string>(created);
            result_.remote_id = remote_id;
        }
        if (auto stop = patch_members(remote_id)) {
            return std::move(*stop);
        }
        return end(Kind::kDone, event_.remote_id ? "updated" : "created");
    }

    // POST /Groups without members; on 409 the existing group is adopted and its attributes made
    // current with a PATCH (a PUT would replace, i.e. empty, its member list).
    IdOrEnd create_group() {
        const json::object body = resource_body(kGroups, std::nullopt);
        const HttpResponse response = send("POST", std::string(kGroups.path), &body);
        if (is_status(response, 409)) {
            IdOrEnd found = find_existing(kGroups, body, "409 on create");
            if (const auto* id = std::get_if<std::string>(&found)) {
                result_.remote_id = *id;
                note("adopted the existing group after 409");
                if (auto stop = patch_attributes(*id, attribute_operations(true))) {
                    return std::move(*stop);
                }
            }
            return found;
        }
        if (!is_2xx(response)) {
            return failed(response, "POST", kGroups.path);
        }
        return created_id(kGroups, response, body);
    }

    // Replace operations for the group's top-level attributes: all of them (with externalId), or
    // only those event.previous names as changed (remove when the new data lacks one).
    json::array attribute_operations(bool all) const {
        json::array ops;
        if (all) {
            const json::object body = resource_body(kGroups, std::nullopt);
            for (const auto& [key, value] : body) {
                if (key != "schemas") {
                    ops.emplace_back(
                        json::object{{"op", "replace"}, {"path", key}, {"value", value}});
                }
            }
            return ops;
        }
        for (const auto& [key, old_value] : event_.previous) {
            (void)old_value;
            if (is_server_attribute(key, kGroups)) {
                continue;
            }
            if (const json::value* now = scim::find_ci(event_.data, key)) {
                ops.emplace_back(json::object{{"op", "replace"}, {"path", key}, {"value", *now}});
            } else {
                ops.emplace_back(json::object{{"op", "remove"}, {"path", key}});
            }
        }
        return ops;
    }

    std::optional<DeliveryResult> patch_attributes(const std::string& remote_id,
                                                   json::array operations) {
        if (operations.empty()) {
            return std::nullopt;
        }
        const std::string path = resource_path(kGroups, remote_id);
        const json::object body = patch_body(std::move(operations));
        const HttpResponse response = send("PATCH", path, &body);
        if (!is_2xx(response)) {
            return failed(response, "PATCH", path);
        }
        return std::nullopt;
    }

    // Member changes in PATCH requests of at most member_chunk members each: adds as one add
    // operation with a value array, removes as value-filter paths (RFC 7644 §3.5.2.2). Members
    // the app has no id for cannot be named, so they are skipped and reported.
    std::optional<DeliveryResult> patch_members(const std::string& remote_id) {
        const std::size_t chunk = std::max<std::size_t>(config_.member_chunk, 1);
        std::size_t skipped = 0;
        const auto remote_ids = [&skipped](const std::vector<MemberChange>& members) {
            std::vector<std::string> ids;
            ids.reserve(members.size());
            for (const MemberChange& m : members) {
                if (m.remote_id) {
                    ids.push_back(*m.remote_id);
                } else {
                    ++skipped;
                }
            }
            return ids;
        };
        const std::vector<std::string> adds = remote_ids(event_.members_added);
        // A group that is being created has no members to remove.
        const std::vector<std::string> removes =
            event_.remote_id ? remote_ids(event_.members_removed) : std::vector<std::string>{};
        const std::string path = resource_path(kGroups, remote_id);
        const auto send_chunks = [&](const std::vector<std::string>& ids,
                                     bool add) -> std::optional<DeliveryResult> {
            for (std::size_t start = 0; start < ids.size(); start += chunk) {
                const std::size_t stop = std::min(ids.size(), start + chunk);
                json::array ops;
                if (add) {
                    json::array values;
                    values.reserve(stop - start);
                    for (std::size_t i = start; i < stop; ++i) {
                        values.emplace_back(json::object{{"value", ids[i]}});
                    }
                    ops.emplace_back(json::object{
                        {"op", "add"}, {"path", "members"}, {"value", std::move(values)}});
                } else {
                    ops.reserve(stop - start);
                    for (std::size_t i = start; i < stop; ++i) {
                        ops.emplace_back(json::object{
                            {"op", "remove"},
                            {"path", "members[value eq " + filter_literal(ids[i]) + "]"}});
                    }
                }
                const json::object body = patch_body(std::move(ops));
                const HttpResponse response = send("PATCH", path, &body);
                if (!is_2xx(response)) {
                    return failed(response, "PATCH", path);
                }
            }
            return std::nullopt;
        };
        if (auto stop = send_chunks(adds, true)) {
            return stop;
        }
        if (auto stop = send_chunks(removes, false)) {
            return stop;
        }
        if (!adds.empty() || !removes.empty()) {
            note(std::to_string(adds.size()) + " members added, " + std::to_string(removes.size()) +
                 " removed");
        }
        if (skipped > 0) {
            note(std::to_string(skipped) + " members without a remote id skipped");
        }
        return std::nullopt;
    }

    // ---- shared steps -----------------------------------------------------------------------

    // The id in a create's answer; a server that answers 2xx without one (RFC 7644 §3.3 says it
    // returns the resource) is asked by filter, so that later updates and deactivations can
    // address the resource.
    IdOrEnd created_id(const Endpoint& endpoint,
                       const HttpResponse& response,
                       const json::object& body) {
        if (const auto answer = response_object(response)) {
            if (auto id = id_member(*answer, "id")) {
                return std::move(*id);
            }
        }
        return find_existing(endpoint, body, "create answered without an id");
    }

    // GET {endpoint}?filter=externalId eq "...", then by the name attribute when that finds
    // nothing: exactly one match is the resource; none retries (the app may not show it yet);
    // several cannot be resolved without a person.
    IdOrEnd find_existing(const Endpoint& endpoint,
                          const json::object& body,
                          std::string_view why) {
        for (const std::string_view attribute :
             {std::string_view("externalId"), endpoint.name_attribute}) {
            const auto value = string_member(body, attribute);
            if (!value) {
                continue;
            }
            const std::string path = std::string(endpoint.path);
            const std::string query = "filter=" + percent_encode(eq_filter(attribute, *value));
            const HttpResponse response = send("GET", path, nullptr, query);
            // An app that cannot filter on externalId says 400 invalidFilter: try the name.
            if (is_status(response, 400) && attribute == "externalId") {
                continue;
            }
            if (!is_2xx(response)) {
                return failed(response, "GET", endpoint.path);
            }
            const auto list = response_object(response);
            if (!list) {
                return end(Kind::kRetry, "GET " + path + ": unreadable ListResponse");
            }
            const std::vector<std::string> ids = matching_ids(*list, attribute, *value);
            if (ids.size() == 1) {
                return ids.front();
            }
            if (ids.size() > 1) {
                return end(Kind::kPermanent,
                           std::string(why) + " and " + std::to_string(ids.size()) + " " +
                               std::string(endpoint.noun) + "s match " + std::string(attribute) +
                               ": cannot choose one");
            }
        }
        return end(Kind::kRetry,
                   std::string(why) + ", but no " + std::string(endpoint.noun) +
                       " matches externalId or " + std::string(endpoint.name_attribute));
    }

    // The ids of the listed resources that match: a server that ignores a filter it does not
    // support returns other resources too, and adopting one of those would be worse than failing.
    // A resource that does not return the attribute is taken at the server's word.
    static std::vector<std::string> matching_ids(const json::object& list,
                                                 std::string_view attribute,
                                                 std::string_view value) {
        std::vector<std::string> ids;
        const json::value* resources = scim::find_ci(list, "Resources");
        if (resources == nullptr || !resources->is_array()) {
            return ids;
        }
        const bool case_exact = attribute == "externalId";
        for (const json::value& r : resources->get_array()) {
            if (!r.is_object()) {
                continue;
            }
            const auto id = id_member(r.get_object(), "id");
            if (!id) {
                continue;
            }
            if (const auto shown = string_member(r.get_object(), attribute)) {
                const bool same = case_exact ? *shown == value
                                             : scim::fold_case(*shown) == scim::fold_case(value);
                if (!same) {
                    continue;
                }
            }
            ids.push_back(*id);
        }
        return ids;
    }

    // schemas, id (PUT only), the mapped data, externalId (the canonical id unless mapped) and,
    // for users, active=true: every event that sends a user body means the account is in use.
    json::object resource_body(const Endpoint& endpoint,
                               const std::optional<std::string>& remote_id) const {
        json::object body;
        body["schemas"] = schemas_for(endpoint, event_.data);
        if (remote_id) {
            body["id"] = *remote_id;
        }
        const bool user = endpoint.users;
        for (const auto& [key, value] : event_.data) {
            if (is_server_attribute(key, endpoint) || (user && scim::iequals(key, "active"))) {
                continue;
            }
            body[key] = value;
        }
        if (scim::find_ci(body, "externalId") == nullptr) {
            body["externalId"] = event_.resource_id;
        }
        if (user) {
            body["active"] = true;
        }
        return body;
    }

    std::string resource_path(const Endpoint& endpoint, std::string_view remote_id) const {
        return std::string(endpoint.path) + "/" + percent_encode(remote_id);
    }

    std::string url(const std::string& path, std::string_view query) const {
        std::string_view base = config_.base_url;
        while (!base.empty() && base.back() == '/') {
            base.remove_suffix(1);
        }
        std::string out = std::string(base) + path;
        if (!query.empty()) {
            out += "?";
            out += query;
        }
        return out;
    }

    HttpResponse send(std::string_view method,
                      const std::string& path,
                      const json::object* body,
                      std::string_view query = {}) {
        HttpRequest request;
        request.method = std::string(method);
        request.url = url(path, query);
        request.deadline = config_.deadline;
        request.headers["Accept"] = std::string(kScimMediaType);
        if (!config_.bearer_token.empty()) {
            request.headers["Authorization"] = "Bearer " + config_.bearer_token;
        }
        if (body != nullptr) {
            request.headers["Content-Type"] = std::string(kScimMediaType);
            request.body = json::serialize(*body);
        }
        ++result_.requests;
        HttpResponse response = transport_.send(request);
        result_.status = response.outcome == HttpResponse::Outcome::kOk ? response.status : 0;
        return response;
    }

    // The attempt ends with the classification of a failed request; the detail names the
    // request (method and path below the base URL, never the query or the token).
    DeliveryResult failed(const HttpResponse& response,
                          std::string_view method,
                          std::string_view path) {
        DeliveryResult c = classify(response, clock_());
        result_.kind = c.kind;
        result_.status = c.status;
        result_.retry_after = c.retry_after;
        result_.detail = std::string(method) + " " + std::string(path) + ": " + c.detail;
        append_notes();
        return result_;
    }

    DeliveryResult end(Kind kind, std::string detail) {
        result_.kind = kind;
        result_.detail = std::move(detail);
        append_notes();
        return result_;
    }

    void note(std::string text) { notes_.push_back(std::move(text)); }

    void append_notes() {
        for (const std::string& n : notes_) {
            result_.detail += "; " + n;
        }
        notes_.clear();
    }

    const ScimTargetConfig& config_;
    const WallClock& clock_;
    HttpTransport& transport_;
    const OutboundEvent& event_;
    DeliveryResult result_;
    std::vector<std::string> notes_;
};

class ScimConnector final : public Connector {
public:
    ScimConnector(ScimTargetConfig config, WallClock clock)
        : config_(std::move(config)), clock_(std::move(clock)) {
        if (!clock_) {
            clock_ = [] { return std::chrono::system_clock::now(); };
        }
    }

    DeliveryResult deliver(const OutboundEvent& event, HttpTransport& transport) override {
        return Attempt(config_, clock_, transport, event).run();
    }

private:
    ScimTargetConfig config_;
    WallClock clock_;
};

}  // namespace

std::unique_ptr<Connector> make_scim_connector(ScimTargetConfig config, WallClock clock) {
    return std::make_unique<ScimConnector>(std::move(config), std::move(clock));
}

}  // namespace scimbridge::mappers
