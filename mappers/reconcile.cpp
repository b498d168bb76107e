#include "mappers/reconcile.hpp"

#include "mappers/directory_client.hpp"
#include "mappers/webhook_signature.hpp"
#include "scim/schema.hpp"
#include "scim/text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <ctime>
#include <set>

namespace scimbridge::mappers {

namespace json = boost::json;
using directory_detail::PageGuard;
using directory_detail::PullClient;
using directory_detail::PullLimits;
using scim::ResourceKind;

// ---- HeldIndex --------------------------------------------------------------------------------

void HeldIndex::add(HeldResource resource) {
    const std::size_t at = entries_.size();
    by_remote_id_.emplace(resource.remote_id, at);
    if (resource.external_id) {
        by_external_id_.emplace(*resource.external_id, at);
    }
    entries_.push_back(std::move(resource));
    claimed_.push_back(false);
}

const HeldResource* HeldIndex::claim(const std::optional<std::string>& remote_id,
                                     const std::optional<std::string>& external_id) {
    const auto take = [this](const std::unordered_map<std::string, std::size_t>& index,
                             const std::string& key) -> const HeldResource* {
        const auto it = index.find(key);
        if (it == index.end() || claimed_[it->second]) {
            return nullptr;
        }
        claimed_[it->second] = true;
        return &entries_[it->second];
    };
    if (remote_id) {
        if (const HeldResource* r = take(by_remote_id_, *remote_id)) {
            return r;
        }
    }
    return external_id ? take(by_external_id_, *external_id) : nullptr;
}

std::vector<const HeldResource*> HeldIndex::unclaimed() const {
    std::vector<const HeldResource*> out;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (!claimed_[i]) {
            out.push_back(&entries_[i]);
        }
    }
    return out;
}

// ---- read-back --------------------------------------------------------------------------------

namespace {

std::optional<std::size_t> count_of(const json::object& page, std::string_view key) {
    const json::value* v = scim::find_ci(page, key);
    if (v != nullptr && v->is_int64() && v->get_int64() >= 0) {
        return static_cast<std::size_t>(v->get_int64());
    }
    return std::nullopt;
}

HeldResource held_from(const json::object& r, std::string id, bool group) {
    HeldResource h;
    h.remote_id = std::move(id);
    h.external_id = id_member(r, "externalId");
    if (const json::value* a = scim::find_ci(r, "active"); a != nullptr && a->is_bool()) {
        h.active = a->get_bool();
    }
    if (group) {
        if (const json::value* m = scim::find_ci(r, "members"); m != nullptr && m->is_array()) {
            for (const json::value& v : m->get_array()) {
                if (v.is_object()) {
                    if (auto value = id_member(v.get_object(), "value")) {
                        h.member_remote_ids.push_back(std::move(*value));
                    }
                }
            }
        }
    }
    h.resource = r;
    return h;
}

// One endpoint, all pages. Cursor paging when the server answers the first page with a
// nextCursor; otherwise by index, ending at totalResults, an empty page or a short page.
scim::Result<void> read_listing(PullClient& client, const ScimTargetConfig& config, std::string_view endpoint,
                                const ReadBackLimits& limits, HeldIndex& into) {
    const std::string listing = "SCIM app " + std::string(endpoint);
    const std::string base = directory_detail::without_trailing_slash(config.base_url) + "/" + std::string(endpoint);
    const std::map<std::string, std::string> headers{{"Authorization", "Bearer " + config.bearer_token},
                                                     {"Accept", "application/scim+json, application/json"}};
    PageGuard guard(listing, limits.max_resources / std::max<std::size_t>(1, limits.page_size / 10) + 10);
    std::set<std::string, std::less<>> seen;
    std::optional<std::string> cursor = std::string();  // "cursor=" asks for cursor paging
    std::size_t start = 1;
    std::size_t collected = 0;
    bool try_cursor = true;
    for (;;) {
        std::string url = base + "?count=" + std::to_string(limits.page_size);
        if (cursor) {
            url += "&cursor=" + directory_detail::percent_encode(*cursor);
        } else {
            url += "&startIndex=" + std::to_string(start);
        }
        const HttpResponse response = client.get(url, headers);
        if (try_cursor && cursor && cursor->empty() && collected == 0 &&
            response.outcome == HttpResponse::Outcome::kOk && response.status == 400) {
            // A server without RFC 9865 refuses the unknown parameter: page by index instead.
            try_cursor = false;
            cursor.reset();
            continue;
        }
        auto page = client.json_object(response, listing + " page " + std::to_string(guard.pages()));
        if (!page) {
            return page.error();
        }
        const json::value* resources = scim::find_ci(*page, "Resources");
        std::size_t listed = 0;
        if (resources != nullptr && resources->is_array()) {
            for (const json::value& r : resources->get_array()) {
                ++listed;
                if (!r.is_object()) {
                    continue;
                }
                auto id = id_member(r.get_object(), "id");
                if (!id) {
                    continue;
                }
                if (!seen.insert(*id).second) {
                    return directory_detail::upstream_error(listing + ": resource " + *id + " listed twice");
                }
                if (into.size() >= limits.max_resources) {
                    return directory_detail::upstream_error(listing + ": more than " +
                                                            std::to_string(limits.max_resources) + " resources");
                }
                into.add(held_from(r.get_object(), std::move(*id), endpoint == "Groups"));
            }
        } else if (resources != nullptr) {
            return directory_detail::upstream_error(listing + ": Resources is not an array");
        }
        collected += listed;
        if (limits.between_pages) {
            limits.between_pages();
        }
        const auto total = count_of(*page, "totalResults");
        if (try_cursor) {
            const auto next = directory_detail::string_member(*page, "nextCursor");
            if (next && !next->empty()) {
                if (auto stop = guard.next(*next)) {
                    return *stop;
                }
                cursor = *next;
                continue;
            }
            const bool more = total ? collected < *total : listed >= limits.page_size;
            if (cursor && cursor->empty() && more) {
                // The first page had no nextCursor although more exist (or, without totalResults,
                // it was full): the server ignored the cursor parameter and pages by index.
                try_cursor = false;
                cursor.reset();
                start = collected + 1;
                if (auto stop = guard.next(std::to_string(start))) {
                    return *stop;
                }
                continue;
            }
            return {};
        }
        // By index the walk ends at totalResults; without one (against the RFC) only an empty
        // page ends it: a server may return fewer than asked on any page, and a read-back that
        // stops early would make every unread account look missing.
        if (listed == 0 || (total && collected >= *total)) {
            if (total && collected < *total) {
                return directory_detail::upstream_error(listing + ": listed " + std::to_string(collected) +
                                                        " of totalResults " + std::to_string(*total));
            }
            return {};
        }
        start += listed;
        if (auto stop = guard.next(std::to_string(start))) {
            return *stop;
        }
    }
}

}  // namespace

scim::Result<ReadBack> read_back(const ScimTargetConfig& config, HttpTransport& transport, bool groups,
                                 const ReadBackLimits& limits) {
    PullLimits pull;
    pull.timeout = config.deadline;
    pull.max_pages = 1'000'000;
    const WallClock clock = [] { return std::chrono::system_clock::now(); };
    PullClient client(transport, pull, clock, {config.bearer_token});
    ReadBack out;
    if (auto r = read_listing(client, config, "Users", limits, out.users); !r) {
        return r.error();
    }
    if (groups) {
        if (auto r = read_listing(client, config, "Groups", limits, out.groups); !r) {
            return r.error();
        }
    }
    out.requests = client.requests();
    return out;
}

// ---- comparison -------------------------------------------------------------------------------

namespace {

bool folds(std::string_view attribute) {
    return scim::iequals(attribute, "userName") || scim::iequals(attribute, "emails") ||
           scim::iequals(attribute, "value");
}

bool matches(const json::value& desired, const json::value* held, bool fold) {
    if (desired.is_null()) {
        return held == nullptr || held->is_null() || (held->is_array() && held->get_array().empty());
    }
    if (held == nullptr) {
        return false;
    }
    if (desired.is_string() && held->is_string()) {
        return fold ? scim::fold_case(desired.get_string()) == scim::fold_case(held->get_string())
                    : desired.get_string() == held->get_string();
    }
    if (desired.is_number() && held->is_number()) {
        return desired.to_number<double>() == held->to_number<double>();
    }
    if (desired.is_object() && held->is_object()) {
        for (const auto& [key, value] : desired.get_object()) {
            if (!matches(value, scim::find_ci(held->get_object(), key), fold || folds(key))) {
                return false;
            }
        }
        return true;
    }
    if (desired.is_array() && held->is_array()) {
        const json::array& want = desired.get_array();
        const json::array& have = held->get_array();
        if (want.size() != have.size()) {
            return false;
        }
        std::vector<bool> used(have.size(), false);
        for (const json::value& w : want) {
            bool found = false;
            for (std::size_t i = 0; i < have.size() && !found; ++i) {
                if (!used[i] && matches(w, &have[i], fold)) {
                    used[i] = found = true;
                }
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }
    return desired == *held;
}

}  // namespace

std::vector<std::string> drifted_attributes(const json::object& desired, const json::object& held) {
    std::vector<std::string> out;
    for (const auto& [key, value] : desired) {
        if (scim::iequals(key, "schemas") || scim::iequals(key, "meta") || scim::iequals(key, "id") ||
            scim::iequals(key, "active") || scim::iequals(key, "members") || scim::iequals(key, "password")) {
            continue;  // the connector's, the app's or write-only; active is judged as a state
        }
        if (!matches(value, scim::find_ci(held, key), folds(key))) {
            out.emplace_back(key);
        }
    }
    return out;
}

// ---- judging ----------------------------------------------------------------------------------

std::string_view to_string(Drift drift) {
    switch (drift) {
        case Drift::kNone: return "none";
        case Drift::kInFlight: return "in_flight";
        case Drift::kUndelivered: return "undelivered";
        case Drift::kMissing: return "missing";
        case Drift::kStale: return "stale";
    }
    return "none";
}

Verdict judge_recorded(const AppPolicies& policies, const DesiredUser& user) {
    Verdict v;
    if (user.in_flight) {
        v.drift = Drift::kInFlight;
        return v;
    }
    const bool mapped_changed = !user.object || user.object->payload != user.payload;
    const UserDecision decision = decide_user(policies, user.object, user.facts, mapped_changed);
    if (decision.send) {
        v.drift = Drift::kUndelivered;
        return v;
    }
    if (user.object) {
        std::optional<std::string> key;
        if (const auto owed = owed_account_event(*user.object, key);
            owed && (user.connector_receives_events || !is_account_event(*owed))) {
            v.drift = Drift::kUndelivered;
        }
    }
    return v;
}

namespace {

Verdict judge_against_copy(const DesiredUser& user, HeldIndex& held) {
    Verdict v;
    const std::optional<std::string> remote_id = user.object ? user.object->remote_id : std::nullopt;
    // The connector sends externalId = the canonical id unless the mapping sets one.
    std::optional<std::string> external_id = user.id;
    if (const json::value* e = scim::find_ci(user.payload, "externalId"); e != nullptr && e->is_string()) {
        external_id = std::string(e->get_string());
    }
    v.held = held.claim(remote_id, external_id);
    if (!user.object || !user.object->state) {
        return v;  // no account: an app copy found here is claimed (the create adopts it), not an orphan
    }
    const bool blocked = *user.object->state == AccountState::kBlocked;
    if (blocked) {
        if (v.held != nullptr && v.held->active) {
            v.drift = Drift::kStale;
            v.attributes.emplace_back("active");
        }
        return v;
    }
    if (v.held == nullptr) {
        v.drift = Drift::kMissing;
        return v;
    }
    v.attributes = drifted_attributes(user.payload, v.held->resource);
    if (!v.held->active) {
        v.attributes.emplace_back("active");
    }
    if (!v.attributes.empty()) {
        v.drift = Drift::kStale;
    }
    return v;
}

}  // namespace

Verdict judge_held_user(const DesiredUser& user, HeldIndex& held) {
    Verdict v = judge_against_copy(user, held);
    if (user.written_since_read_back && (v.drift == Drift::kMissing || v.drift == Drift::kStale)) {
        v.drift = Drift::kInFlight;
        v.attributes.clear();
    }
    return v;
}

std::optional<Repair> user_repair(const DesiredUser& user, const Verdict& verdict) {
    Repair r;
    r.resource = ResourceKind::kUser;
    r.id = user.id;
    r.version = user.version;
    switch (verdict.drift) {
        case Drift::kNone:
        case Drift::kInFlight:
            return std::nullopt;
        case Drift::kUndelivered:
            r.kind = Repair::Kind::kDeliver;
            return r;
        case Drift::kMissing:
            if (user.object && user.object->state == AccountState::kBlocked) {
                return std::nullopt;  // a blocked account the app no longer has: nothing to do
            }
            r.kind = Repair::Kind::kRecreate;
            return r;
        case Drift::kStale:
            break;
    }
    r.kind = Repair::Kind::kRefresh;
    if (user.object && user.object->state == AccountState::kBlocked) {
        // The app shows the account in use: the worker owes it the deactivation.
        r.delivered_state = restored_state(user.object->state_before_block);
        return r;
    }
    // What the app holds of the mapped attributes, so the update carries true previous values;
    // nothing known (webhook apps), or only `active` differs: an empty record makes the worker
    // send every mapped attribute.
    json::object held;
    if (verdict.held != nullptr) {
        for (const auto& [key, value] : user.payload) {
            if (const json::value* h = scim::find_ci(verdict.held->resource, key)) {
                held[key] = *h;
            }
        }
    }
    r.payload = held == user.payload ? json::object() : std::move(held);
    return r;
}

// ---- webhook resync batches ---------------------------------------------------------------------

json::object resync_batch_body(const ResyncBatch& batch, const std::string& timestamp) {
    json::array resources;
    resources.reserve(batch.items.size());
    for (const ResyncItem& item : batch.items) {
        json::object o{{"type", scim::resource_type_id(item.kind)}, {"id", item.id}, {"version", item.version}};
        if (item.remote_id) {
            o["remote_id"] = *item.remote_id;
        }
        if (item.state) {
            o["state"] = to_string(*item.state);
        }
        resources.push_back(std::move(o));
    }
    return json::object{{"id", "rsy_" + batch.run_id + "_" + std::to_string(batch.number)},
                        {"type", "resync.batch"},
                        {"timestamp", timestamp},
                        {"tenant", batch.tenant_id},
                        {"app", json::object{{"id", batch.app_id}, {"name", batch.app_name}}},
                        {"resync", json::object{{"run", batch.run_id}, {"batch", batch.number}, {"final", batch.final}}},
                        {"resources", std::move(resources)}};
}

scim::Result<ResyncAnswer> parse_resync_answer(const HttpResponse& response) {
    ResyncAnswer answer;
    const auto bad = [](std::string why) {
        return scim::Error::unavailable("the app's resync answer " + std::move(why));
    };
    if (response.body_truncated) {
        return bad("is too large");
    }
    boost::system::error_code ec;
    const json::value parsed = json::parse(response.body, ec);
    if (ec || !parsed.is_object()) {
        answer.supported = false;  // a 2xx without a JSON object: the app does not reconcile
        return answer;
    }
    const json::object& o = parsed.get_object();
    const auto ids = [&](std::string_view key, std::vector<std::string>& into) -> bool {
        const json::value* list = scim::find_ci(o, key);
        if (list == nullptr || list->is_null()) {
            return true;
        }
        if (!list->is_array()) {
            return false;
        }
        for (const json::value& v : list->get_array()) {
            if (!v.is_string() || v.get_string().empty() || v.get_string().size() > 1024) {
                return false;
            }
            into.emplace_back(v.get_string());
        }
        return true;
    };
    if (!ids("missing", answer.missing) || !ids("stale", answer.stale)) {
        return bad("lists something other than ids");
    }
    if (const json::value* extra = scim::find_ci(o, "extra"); extra != nullptr && !extra->is_null()) {
        if (!extra->is_array() || extra->get_array().size() > 1'000'000) {
            return bad("has an extra list that is not an array of ids");
        }
        for (const json::value& v : extra->get_array()) {
            ResyncAnswer::Extra e;
            const json::value* id = &v;
            if (v.is_object()) {
                id = scim::find_ci(v.get_object(), "id");
                const json::value* type = scim::find_ci(v.get_object(), "type");
                if (type != nullptr && type->is_string() && scim::iequals(type->get_string(), "Group")) {
                    e.kind = ResourceKind::kGroup;
                }
            }
            if (id == nullptr || !id->is_string() || id->get_string().empty() || id->get_string().size() > 1024) {
                return bad("has an extra entry without an id");
            }
            e.id = std::string(id->get_string());
            answer.extra.push_back(std::move(e));
        }
    }
    return answer;
}

scim::Result<ResyncAnswer> send_resync_batch(const WebhookConfig& config, const ResyncBatch& batch,
                                             HttpTransport& transport, WallClock clock) {
    if (!clock) {
        clock = [] { return std::chrono::system_clock::now(); };
    }
    if (config.secrets.empty() ||
        !std::all_of(config.secrets.begin(), config.secrets.end(),
                     [](const std::string& s) { return decode_webhook_secret(s).has_value(); })) {
        return scim::Error::unavailable("webhook signing secret missing or invalid");
    }
    const auto now = clock();
    const std::int64_t timestamp = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const json::object body = resync_batch_body(batch, rfc3339(now));
    HttpRequest request;
    request.method = "POST";
    request.url = config.url;
    request.body = json::serialize(body);
    request.deadline = config.deadline;
    request.max_body = 16 * 1024 * 1024;  // the final answer lists every extra id
    const std::string id(body.at("id").get_string());
    request.headers["Content-Type"] = "application/json";
    request.headers["webhook-id"] = id;
    request.headers["webhook-timestamp"] = std::to_string(timestamp);
    request.headers["webhook-signature"] = signature_header(config.secrets, id, timestamp, request.body);
    const HttpResponse response = transport.send(request);
    const DeliveryResult result = classify(response, now);
    if (result.kind != DeliveryResult::Kind::kDone) {
        return scim::Error::unavailable("resync batch " + std::to_string(batch.number) + ": " +
                                        printable(result.detail));
    }
    return parse_resync_answer(response);
}

// ---- the three-way diff -----------------------------------------------------------------------

namespace {

const json::object* object_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const json::array* array_at(const json::object* o, std::string_view key) {
    if (o == nullptr) return nullptr;
    const json::value* v = o->if_contains(key);
    return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

std::optional<std::string> text_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::optional<std::string>(std::string(v->get_string())) : std::nullopt;
}

json::object run_summary(const json::object& run, std::initializer_list<std::string_view> fields) {
    json::object out;
    for (const std::string_view k : {"key", "id", "dry_run", "state", "finished_at", "error"}) {
        if (const json::value* v = run.if_contains(k)) out[k] = *v;
    }
    if (const json::object* report = object_at(run, "report")) {
        for (const std::string_view k : fields) {
            if (const json::value* v = report->if_contains(k)) out[k] = *v;
        }
    }
    return out;
}

class People {
public:
    json::object& by_id(const std::string& id, const std::optional<std::string>& external_id) {
        json::object& p = at("id:" + id);
        p["id"] = id;
        if (external_id && !external_id->empty()) {
            p["externalId"] = *external_id;
            aliases_["ext:" + *external_id] = "id:" + id;
        }
        return p;
    }
    json::object& by_external_id(const std::string& external_id) {
        // An externalId seen with a canonical id (or equal to one) joins that person.
        if (const auto it = aliases_.find("ext:" + external_id); it != aliases_.end()) {
            return at(it->second);
        }
        if (const auto it = index_.find("id:" + external_id); it != index_.end()) {
            return list_[it->second];
        }
        json::object& p = at("ext:" + external_id);
        p["externalId"] = external_id;
        return p;
    }
    json::array take() {
        json::array out;
        for (json::object& p : list_) {
            if (!p.contains("apps")) p["apps"] = json::object();
            out.push_back(std::move(p));
        }
        return out;
    }

private:
    json::object& at(const std::string& key) {
        const auto [it, fresh] = index_.emplace(key, list_.size());
        if (fresh) list_.emplace_back();
        return list_[it->second];
    }
    std::map<std::string, std::size_t> index_;
    std::map<std::string, std::string> aliases_;
    std::vector<json::object> list_;
};

void mark_app(json::object& person, const std::string& app, const std::string& drift, const json::value* attributes) {
    if (!person.contains("apps")) person["apps"] = json::object();
    json::object entry{{"drift", drift}};
    if (attributes != nullptr && attributes->is_array()) entry["attributes"] = *attributes;
    person["apps"].as_object()[app] = std::move(entry);
}

}  // namespace

json::object three_way_diff(const json::array& directory_runs, const json::array& app_runs) {
    People people;
    json::array directories;
    for (const json::value& v : directory_runs) {
        if (!v.is_object()) continue;
        const json::object& run = v.get_object();
        directories.push_back(run_summary(run, {"source", "kind", "pulled_users", "create_users", "update_users",
                                                "delete_users", "unchanged", "changed_attributes"}));
        const json::object* report = object_at(run, "report");
        const json::object* samples = report != nullptr ? object_at(*report, "samples") : nullptr;
        if (const json::array* list = array_at(samples, "create_users")) {
            for (const json::value& s : *list) {
                if (!s.is_object()) continue;
                if (const auto ext = text_at(s.get_object(), "externalId")) {
                    people.by_external_id(*ext)["directory"] = json::object{{"change", "create"}};
                }
            }
        }
        for (const char* change : {"update_users", "delete_users"}) {
            if (const json::array* list = array_at(samples, change)) {
                for (const json::value& s : *list) {
                    if (!s.is_object()) continue;
                    const auto id = text_at(s.get_object(), "id");
                    if (!id) continue;
                    json::object d{{"change", std::string_view(change) == "update_users" ? "update" : "delete"}};
                    if (const json::value* a = s.get_object().if_contains("attributes")) d["attributes"] = *a;
                    people.by_id(*id, text_at(s.get_object(), "externalId"))["directory"] = std::move(d);
                }
            }
        }
    }
    json::array apps;
    for (const json::value& v : app_runs) {
        if (!v.is_object()) continue;
        const json::object& run = v.get_object();
        json::object summary = run_summary(run, {"app", "name", "connector", "users", "groups", "orphans", "requests"});
        // The samples are listed per person below; the summary keeps the counts.
        for (const char* section : {"users", "groups", "orphans"}) {
            if (json::value* sec = summary.if_contains(section); sec != nullptr && sec->is_object()) {
                sec->get_object().erase("samples");
            }
        }
        apps.push_back(std::move(summary));
        const json::object* report = object_at(run, "report");
        if (report == nullptr) continue;
        const std::string app = text_at(*report, "name").value_or(text_at(*report, "app").value_or("?"));
        const json::object* users = object_at(*report, "users");
        const json::object* samples = users != nullptr ? object_at(*users, "samples") : nullptr;
        if (samples != nullptr) {
            for (const auto& [drift, list] : *samples) {
                if (!list.is_array()) continue;
                for (const json::value& s : list.get_array()) {
                    if (!s.is_object()) continue;
                    if (const auto id = text_at(s.get_object(), "id")) {
                        mark_app(people.by_id(*id, std::nullopt), app, std::string(drift),
                                 s.get_object().if_contains("attributes"));
                    }
                }
            }
        }
        const json::object* orphans = object_at(*report, "orphans");
        if (const json::array* list = array_at(orphans, "samples")) {
            for (const json::value& s : *list) {
                if (!s.is_object() || text_at(s.get_object(), "type").value_or("User") != "User") continue;
                const auto ext = text_at(s.get_object(), "externalId");
                const auto id = text_at(s.get_object(), "id");
                if (ext) {
                    mark_app(people.by_external_id(*ext), app, "orphan", nullptr);
                } else if (id) {
                    mark_app(people.by_external_id(*id), app, "orphan", nullptr);
                }
            }
        }
    }
    return json::object{{"directories", std::move(directories)}, {"apps", std::move(apps)}, {"people", people.take()}};
}

}  // namespace scimbridge::mappers
