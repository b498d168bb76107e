// Directory pulls: the shared client plumbing, the configuration decoder and the pure plan.
// The sources themselves live in google_directory.cpp, graph_directory.cpp and
// scim_directory.cpp.

#include "mappers/directory.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include "mappers/directory_client.hpp"
#include "scim/schema.hpp"
#include "scim/text.hpp"

namespace scimbridge::mappers {

namespace json = boost::json;

namespace directory_detail {

namespace {

constexpr int kMaxJsonDepth = 64;
constexpr std::string_view kRedacted = "***";
// Secrets shorter than this are not searched for: redacting "a" would mangle every detail.
constexpr std::size_t kMinRedactedSecret = 4;


// What an error answer says (raw: redact, then make printable), in the dialects the sources speak:
// Google and Graph
// {"error": {"code", "message"}}, OAuth {"error", "error_description"}, SCIM {"detail"}.
std::string remote_message(const HttpResponse& response) {
    json::error_code ec;
    const json::value parsed = json::parse(response.body, ec);
    if (ec || !parsed.is_object()) {
        return response.body;
    }
    const json::object& o = parsed.get_object();
    std::string said;
    if (const json::object* error = object_member(o, "error")) {
        const auto code = string_member(*error, "code");
        const auto message = string_member(*error, "message");
        said = code ? *code : "";
        if (message) {
            said += said.empty() ? *message : ": " + *message;
        }
    } else if (const auto error_code = string_member(o, "error")) {
        said = *error_code;
        if (const auto description = string_member(o, "error_description")) {
            said += ": " + *description;
        }
    } else if (const auto detail = string_member(o, "detail")) {
        said = *detail;
    } else if (const auto message = string_member(o, "message")) {
        said = *message;
    }
    return said.empty() ? response.body : said;
}

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool one_line(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte < 0x20 || byte == 0x7f;
    });
}

}  // namespace

scim::Error upstream_error(std::string detail) {
    return scim::Error(502, scim::ScimType::kNone, std::move(detail));
}

std::string percent_encode(std::string_view text) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (is_unreserved(c)) {
            out.push_back(c);
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(kHex[byte >> 4U]);
            out.push_back(kHex[byte & 0x0fU]);
        }
    }
    return out;
}

std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += percent_encode(name);
        out.push_back('=');
        out += percent_encode(value);
    }
    return out;
}

std::string without_trailing_slash(std::string_view url) {
    while (!url.empty() && url.back() == '/') {
        url.remove_suffix(1);
    }
    return std::string(url);
}

std::string url_origin(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    const auto host_end = url.find_first_of("/?#", scheme_end + 3);
    const std::string_view origin = url.substr(0, host_end);
    if (origin.size() == scheme_end + 3) {
        return {};
    }
    return scim::ascii_lower(origin);
}

// ---- PullClient -------------------------------------------------------------------------------

PullClient::PullClient(HttpTransport& transport,
                       const PullLimits& limits,
                       const WallClock& clock,
                       std::vector<std::string> secrets)
    : transport_(transport), limits_(limits), clock_(clock), secrets_(std::move(secrets)) {}

std::chrono::system_clock::time_point PullClient::now() const {
    return clock_ ? clock_() : std::chrono::system_clock::now();
}

void PullClient::add_secret(std::string secret) {
    secrets_.push_back(std::move(secret));
}

HttpResponse PullClient::send(HttpRequest request) {
    request.deadline = limits_.timeout;
    request.max_body = kMaxDirectoryBody;
    ++requests_;
    return transport_.send(request);
}

HttpResponse PullClient::get(const std::string& url,
                             const std::map<std::string, std::string>& headers) {
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.headers = headers;
    request.headers.emplace("Accept", "application/json");
    return send(std::move(request));
}

scim::Result<HttpResponse> PullClient::get_with_bearer(
    const std::string& url, const std::function<scim::Result<std::string>(bool renew)>& token) {
    auto bearer = token(false);
    if (!bearer) {
        return bearer.error();
    }
    HttpResponse response = get(url, {{"Authorization", "Bearer " + *bearer}});
    if (response.outcome == HttpResponse::Outcome::kOk && response.status == 401) {
        bearer = token(true);
        if (!bearer) {
            return bearer.error();
        }
        response = get(url, {{"Authorization", "Bearer " + *bearer}});
    }
    return response;
}

std::string PullClient::redact(std::string text) const {
    for (const std::string& secret : secrets_) {
        if (secret.size() < kMinRedactedSecret) {
            continue;
        }
        for (auto at = text.find(secret); at != std::string::npos;
             at = text.find(secret, at + kRedacted.size())) {
            text.replace(at, secret.size(), kRedacted);
        }
    }
    return text;
}

scim::Error PullClient::failure(const HttpResponse& response, std::string_view what) const {
    const std::string where(what);
    if (response.outcome != HttpResponse::Outcome::kOk) {
        std::string detail = where + ": " + std::string(to_string(response.outcome));
        if (!response.error.empty()) {
            detail += " (" + printable(redact(response.error)) + ")";
        }
        return upstream_error(redact(std::move(detail)));
    }
    const int status = response.status;
    std::string detail = where + ": HTTP " + std::to_string(status);
    if (status == 401 || status == 403) {
        detail += " (authentication or authorization failed)";
    }
    // Redacted before it is cut short: half a secret must not survive the cut.
    if (const std::string said = printable(redact(remote_message(response))); !said.empty()) {
        detail += ": " + said;
    }
    if (status == 429 || status == 503) {
        const DeliveryResult classified = classify(response, now());
        if (classified.retry_after) {
            detail += "; throttled, Retry-After " +
                      std::to_string(classified.retry_after->count()) + " s: retry the pull then";
        } else {
            detail += "; throttled, no Retry-After: retry the pull later";
        }
        return scim::Error::unavailable(redact(std::move(detail)));
    }
    if (status >= 200 && status <= 299 && response.body_truncated) {
        return upstream_error(where + ": the response is larger than " +
                              std::to_string(kMaxDirectoryBody / (1024 * 1024)) + " MiB");
    }
    return upstream_error(redact(std::move(detail)));
}

scim::Result<json::object> PullClient::json_object(const HttpResponse& response,
                                                   std::string_view what) const {
    if (response.outcome != HttpResponse::Outcome::kOk || response.status < 200 ||
        response.status > 299 || response.body_truncated) {
        return failure(response, what);
    }
    json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    json::error_code ec;
    json::value parsed = json::parse(response.body, ec, {}, options);
    if (ec) {
        return upstream_error(std::string(what) + ": the response is not JSON (" + ec.message() +
                              ")");
    }
    if (!parsed.is_object()) {
        return upstream_error(std::string(what) + ": the response is not a JSON object");
    }
    return std::move(parsed.get_object());
}

// ---- PageGuard --------------------------------------------------------------------------------

PageGuard::PageGuard(std::string listing, std::size_t max_pages)
    : listing_(std::move(listing)), max_pages_(max_pages) {}

std::optional<scim::Error> PageGuard::next(const std::string& token) {
    if (!seen_.insert(token).second) {
        return upstream_error(listing_ + ": the source sent the same page token twice after " +
                              std::to_string(pages_) + " pages (a paging loop)");
    }
    if (pages_ >= max_pages_) {
        return upstream_error(listing_ + ": more than " + std::to_string(max_pages_) +
                              " pages (max_pages)");
    }
    ++pages_;
    return std::nullopt;
}

// ---- JSON readers -----------------------------------------------------------------------------

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string(v->get_string());
}

const json::array* array_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

const json::object* object_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::optional<bool> bool_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_bool()) {
        return std::nullopt;
    }
    return v->get_bool();
}

std::optional<json::value> nullable_string(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_null() || (v->is_string() && v->get_string().empty())) {
        return json::value(nullptr);
    }
    if (v->is_string()) {
        return *v;
    }
    return std::nullopt;
}

json::array user_schemas(bool enterprise) {
    json::array out{json::string(scim::kUserSchema)};
    if (enterprise) {
        out.emplace_back(json::string(scim::kEnterpriseUserSchema));
    }
    return out;
}

// ---- Configuration ----------------------------------------------------------------------------

std::optional<scim::Error> unknown_fields(const json::object& config,
                                          std::initializer_list<std::string_view> known,
                                          std::string_view where) {
    for (const auto& [key, value] : config) {
        (void)value;
        if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
            return scim::Error::invalid_value(std::string(where) + std::string(key) +
                                              " is not a known field");
        }
    }
    return std::nullopt;
}

scim::Result<std::string> config_string(const json::object& config,
                                        std::string_view key,
                                        std::string_view where,
                                        std::optional<std::string_view> fallback,
                                        std::size_t max,
                                        bool multiline) {
    const std::string name = std::string(where) + std::string(key);
    const json::value* v = config.if_contains(key);
    if (v == nullptr || v->is_null()) {
        if (fallback) {
            return std::string(*fallback);
        }
        return scim::Error::invalid_value(name + " is required");
    }
    if (!v->is_string()) {
        return scim::Error::invalid_value(name + " must be a string");
    }
    const std::string_view s = v->get_string();
    if (s.empty() || s.size() > max) {
        return scim::Error::invalid_value(name + " must be 1 to " + std::to_string(max) +
                                          " characters");
    }
    if (!scim::is_valid_utf8(s)) {
        return scim::Error::invalid_value(name + " must be UTF-8 text");
    }
    if (!multiline && !one_line(s)) {
        return scim::Error::invalid_value(name + " must be one line without control characters");
    }
    return std::string(s);
}

scim::Result<std::string> config_url(const json::object& config,
                                     std::string_view key,
                                     std::string_view where,
                                     std::optional<std::string_view> fallback) {
    auto text = config_string(config, key, where, fallback, 2048);
    if (!text) {
        return text.error();
    }
    const std::string name = std::string(where) + std::string(key);
    const std::string lowered = scim::ascii_lower(*text);
    const bool scheme = lowered.rfind("https://", 0) == 0 || lowered.rfind("http://", 0) == 0;
    if (!scheme || url_origin(*text).empty() || text->find_first_of(" ?#") != std::string::npos) {
        return scim::Error::invalid_value(
            name + " must be an http(s) URL with a host and no query or fragment");
    }
    return without_trailing_slash(*text);
}

namespace {

scim::Result<std::size_t> config_count(const json::object& config,
                                       std::string_view key,
                                       std::size_t fallback,
                                       std::size_t max) {
    const json::value* v = config.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return fallback;
    }
    std::int64_t n = 0;
    if (v->is_int64()) {
        n = v->get_int64();
    } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max)) {
        n = static_cast<std::int64_t>(v->get_uint64());
    } else {
        n = -1;
    }
    if (n < 1 || static_cast<std::uint64_t>(n) > max) {
        return scim::Error::invalid_value(std::string(key) + " must be an integer from 1 to " +
                                          std::to_string(max));
    }
    return static_cast<std::size_t>(n);
}

}  // namespace

scim::Result<PullLimits> decode_limits(const json::object& config) {
    PullLimits limits;
    const auto users = config_count(config, "max_users", limits.max_users, 100'000'000);
    if (!users) {
        return users.error();
    }
    const auto groups = config_count(config, "max_groups", limits.max_groups, 100'000'000);
    if (!groups) {
        return groups.error();
    }
    const auto pages = config_count(config, "max_pages", limits.max_pages, 10'000'000);
    if (!pages) {
        return pages.error();
    }
    const auto timeout = config_count(config, "timeout_seconds", 30, 300);
    if (!timeout) {
        return timeout.error();
    }
    limits.max_users = *users;
    limits.max_groups = *groups;
    limits.max_pages = *pages;
    limits.timeout = std::chrono::seconds(static_cast<std::int64_t>(*timeout));
    return limits;
}

}  // namespace directory_detail

scim::Result<std::unique_ptr<DirectorySource>> make_directory_source(const json::object& config,
                                                                     WallClock clock) {
    using namespace directory_detail;  // NOLINT(google-build-using-namespace): local plumbing
    const auto kind = config_string(config, "kind", "", std::nullopt, 16);
    if (!kind) {
        return kind.error();
    }
    auto limits = decode_limits(config);
    if (!limits) {
        return limits.error();
    }
    if (*kind == "google") {
        return make_google_source(config, *limits, std::move(clock));
    }
    if (*kind == "graph") {
        return make_graph_source(config, *limits, std::move(clock));
    }
    if (*kind == "scim") {
        return make_scim_source(config, *limits, std::move(clock));
    }
    return scim::Error::invalid_value(R"(kind must be "google", "graph" or "scim")");
}

// ---- Comparing and applying pulled attributes --------------------------------------------------

namespace {

bool is_server_key(std::string_view key) {
    return scim::iequals(key, "id") || scim::iequals(key, "meta") || scim::iequals(key, "schemas");
}

// Null, missing, [] and an object of nothing but those: "no value".
bool is_empty(const json::value* v) {
    if (v == nullptr || v->is_null()) {
        return true;
    }
    if (v->is_array()) {
        return v->get_array().empty();
    }
    if (v->is_object()) {
        const json::object& o = v->get_object();
        return std::all_of(o.begin(), o.end(), [](const json::key_value_pair& kv) {
            return is_empty(&kv.value());
        });
    }
    return false;
}

bool same_scalar(const json::value& a, const json::value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_double() || b.is_double()) {
            json::error_code ec1;
            json::error_code ec2;
            return a.to_number<double>(ec1) == b.to_number<double>(ec2);
        }
        if (a.is_int64() && b.is_int64()) {
            return a.get_int64() == b.get_int64();
        }
        if (a.is_uint64() && b.is_uint64()) {
            return a.get_uint64() == b.get_uint64();
        }
        const std::int64_t signed_value = a.is_int64() ? a.get_int64() : b.get_int64();
        const std::uint64_t unsigned_value = a.is_uint64() ? a.get_uint64() : b.get_uint64();
        return signed_value >= 0 && static_cast<std::uint64_t>(signed_value) == unsigned_value;
    }
    return a == b;
}

bool value_differs(const json::value* current, const json::value& pulled);

bool object_differs(const json::object& current, const json::object& pulled) {
    return std::any_of(pulled.begin(), pulled.end(), [&](const json::key_value_pair& kv) {
        return value_differs(scim::find_ci(current, kv.key()), kv.value());
    });
}

// Multi-valued attributes compare as sets: the same number of elements, and each pulled element
// matches a distinct current one on the sub-attributes it has (a "display" the bridge added is
// no reason to rewrite the list).
bool array_differs(const json::array& current, const json::array& pulled) {
    if (current.size() != pulled.size()) {
        return true;
    }
    std::vector<bool> used(current.size(), false);
    for (const json::value& p : pulled) {
        bool found = false;
        for (std::size_t i = 0; i < current.size() && !found; ++i) {
            if (!used[i] && !value_differs(&current[i], p)) {
                used[i] = true;
                found = true;
            }
        }
        if (!found) {
            return true;
        }
    }
    return false;
}

bool value_differs(const json::value* current, const json::value& pulled) {
    if (is_empty(&pulled)) {
        return !is_empty(current);
    }
    if (current == nullptr) {
        return true;
    }
    if (pulled.is_object()) {
        return !current->is_object() || object_differs(current->get_object(), pulled.get_object());
    }
    if (pulled.is_array()) {
        return !current->is_array() || array_differs(current->get_array(), pulled.get_array());
    }
    return !same_scalar(*current, pulled);
}

void erase_ci(json::object& o, std::string_view key) {
    for (auto it = o.begin(); it != o.end(); ++it) {
        if (scim::iequals(it->key(), key)) {
            o.erase(it);
            return;
        }
    }
}

void apply_member(json::object& target, std::string_view key, const json::value& pulled) {
    if (pulled.is_null()) {
        erase_ci(target, key);
        return;
    }
    if (pulled.is_object()) {
        json::object merged;
        if (const json::value* now = scim::find_ci(target, key);
            now != nullptr && now->is_object()) {
            merged = now->get_object();
        }
        for (const auto& [k, v] : pulled.get_object()) {
            apply_member(merged, k, v);
        }
        erase_ci(target, key);
        if (!merged.empty()) {
            target[key] = std::move(merged);
        }
        return;
    }
    erase_ci(target, key);
    if (!(pulled.is_array() && pulled.get_array().empty())) {
        target[key] = pulled;
    }
}

bool has_string_ci(const json::array& a, std::string_view s) {
    return std::any_of(a.begin(), a.end(), [s](const json::value& v) {
        return v.is_string() && scim::iequals(v.get_string(), s);
    });
}

// Schema URNs in `schemas` agree with the data: pulled ones joined, and an extension whose
// object is gone leaves the list.
void reconcile_schemas(json::object& resource, const json::object& pulled) {
    json::array schemas;
    if (const json::value* now = scim::find_ci(resource, "schemas"); now && now->is_array()) {
        schemas = now->get_array();
    }
    if (const json::value* more = scim::find_ci(pulled, "schemas"); more && more->is_array()) {
        for (const json::value& urn : more->get_array()) {
            if (urn.is_string() && !has_string_ci(schemas, urn.get_string())) {
                schemas.push_back(urn);
            }
        }
    }
    json::array kept;
    for (const json::value& urn : schemas) {
        const bool extension = urn.is_string() &&
                               !scim::iequals(urn.get_string(), scim::kUserSchema) &&
                               !scim::iequals(urn.get_string(), scim::kGroupSchema);
        const json::value* data = extension ? scim::find_ci(resource, urn.get_string()) : nullptr;
        const bool declared_by_pull =
            extension && scim::find_ci(pulled, urn.get_string()) != nullptr;
        if (extension && declared_by_pull && data == nullptr) {
            continue;  // the pull emptied the extension
        }
        kept.push_back(urn);
    }
    if (!kept.empty()) {
        resource["schemas"] = std::move(kept);
    }
}

// Nulls (and the emptiness they leave) removed: the form a new resource is created in.
json::value without_nulls(const json::value& v) {
    if (v.is_object()) {
        json::object out;
        for (const auto& [key, member] : v.get_object()) {
            if (is_empty(&member)) {
                continue;
            }
            out[key] = without_nulls(member);
        }
        return out;
    }
    if (v.is_array()) {
        json::array out;
        for (const json::value& element : v.get_array()) {
            if (!is_empty(&element)) {
                out.push_back(without_nulls(element));
            }
        }
        return out;
    }
    return v;
}

json::object creatable(const json::object& resource) {
    json::object out = without_nulls(resource).get_object();
    if (json::value* schemas = out.if_contains("schemas"); schemas && schemas->is_array()) {
        json::array kept;
        for (const json::value& urn : schemas->get_array()) {
            const bool extension = urn.is_string() &&
                                   !scim::iequals(urn.get_string(), scim::kUserSchema) &&
                                   !scim::iequals(urn.get_string(), scim::kGroupSchema);
            if (!extension || scim::find_ci(out, urn.get_string()) != nullptr) {
                kept.push_back(urn);
            }
        }
        *schemas = std::move(kept);
    }
    return out;
}

}  // namespace

bool pulled_differs(const json::object& current, const json::object& pulled) {
    return std::any_of(pulled.begin(), pulled.end(), [&](const json::key_value_pair& kv) {
        return !is_server_key(kv.key()) &&
               value_differs(scim::find_ci(current, kv.key()), kv.value());
    });
}

json::object apply_pulled(const json::object& current, const json::object& pulled) {
    json::object out = current;
    for (const auto& [key, value] : pulled) {
        if (!is_server_key(key)) {
            apply_member(out, key, value);
        }
    }
    reconcile_schemas(out, pulled);
    return out;
}

// ---- The plan ---------------------------------------------------------------------------------

namespace {

using EntryIndex = std::map<std::string, const CanonicalEntry*, std::less<>>;

// externalId → entry; when two entries claim one externalId the smaller canonical id wins (a
// deterministic choice; the other is left alone).
EntryIndex index_by_external_id(const std::vector<CanonicalEntry>& entries) {
    EntryIndex index;
    for (const CanonicalEntry& e : entries) {
        if (e.external_id.empty()) {
            continue;
        }
        auto [it, inserted] = index.emplace(e.external_id, &e);
        if (!inserted && e.id < it->second->id) {
            it->second = &e;
        }
    }
    return index;
}

// The canonical ids to delete: in a complete snapshot every entry whose externalId was not
// pulled; in a delta every entry whose externalId the delta removed.
std::vector<std::string> deletions(const std::vector<CanonicalEntry>& entries,
                                   const std::set<std::string, std::less<>>& pulled,
                                   const std::set<std::string, std::less<>>& removed,
                                   bool complete) {
    std::vector<std::string> out;
    for (const CanonicalEntry& e : entries) {
        if (e.external_id.empty()) {
            continue;
        }
        const bool gone =
            complete ? pulled.count(e.external_id) == 0 : removed.count(e.external_id) != 0;
        if (gone) {
            out.push_back(e.id);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::set<std::string, std::less<>> member_values(const json::object& group) {
    std::set<std::string, std::less<>> out;
    const json::value* members = scim::find_ci(group, "members");
    if (members == nullptr || !members->is_array()) {
        return out;
    }
    for (const json::value& m : members->get_array()) {
        if (m.is_object()) {
            if (const json::value* v = scim::find_ci(m.get_object(), "value");
                v && v->is_string()) {
                out.insert(std::string(v->get_string()));
            }
        }
    }
    return out;
}

void sort_unique(std::vector<std::string>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

class Planner {
public:
    Planner(const DirectorySnapshot& snapshot,
            const std::vector<CanonicalEntry>& users,
            const std::vector<CanonicalEntry>& groups)
        : snapshot_(snapshot),
          users_(users),
          groups_(groups),
          user_index_(index_by_external_id(users)),
          group_index_(index_by_external_id(groups)),
          removed_users_(snapshot.removed_user_ids.begin(), snapshot.removed_user_ids.end()),
          removed_groups_(snapshot.removed_group_ids.begin(), snapshot.removed_group_ids.end()) {
        // The last occurrence of an id wins; a removal wins over both.
        for (const DirectoryUser& u : snapshot.users) {
            if (!u.external_id.empty() && removed_users_.count(u.external_id) == 0) {
                pulled_users_[u.external_id] = &u;
            }
        }
        for (const DirectoryGroup& g : snapshot.groups) {
            if (!g.external_id.empty() && removed_groups_.count(g.external_id) == 0) {
                pulled_groups_[g.external_id] = &g;
            }
        }
        for (const auto& [ext, user] : pulled_users_) {
            (void)user;
            pulled_user_ids_.insert(ext);
            if (user_index_.count(ext) == 0) {
                new_users_.insert(ext);
            }
        }
        for (const auto& [ext, group] : pulled_groups_) {
            (void)group;
            pulled_group_ids_.insert(ext);
            if (group_index_.count(ext) == 0) {
                new_groups_.insert(ext);
            }
        }
    }

    SyncPlan run() {
        plan_users();
        plan_groups();
        return std::move(plan_);
    }

private:
    // A user held now (and not removed by this delta): its canonical id.
    const CanonicalEntry* held_user(std::string_view ext) const {
        if (removed_users_.count(ext) != 0) {
            return nullptr;
        }
        const auto it = user_index_.find(ext);
        return it == user_index_.end() ? nullptr : it->second;
    }

    const CanonicalEntry* held_group(std::string_view ext) const {
        if (removed_groups_.count(ext) != 0) {
            return nullptr;
        }
        const auto it = group_index_.find(ext);
        return it == group_index_.end() ? nullptr : it->second;
    }

    // manager.value holds the manager's source id: the canonical id when the manager is held,
    // otherwise left out of the planned resource (pending when this plan creates the manager).
    DirectoryUser resolve_manager(const DirectoryUser& pulled) {
        DirectoryUser user = pulled;
        json::value* extension = nullptr;
        for (auto& [key, value] : user.resource) {
            if (scim::iequals(key, scim::kEnterpriseUserSchema) && value.is_object()) {
                extension = &value;
            }
        }
        if (extension == nullptr) {
            return user;
        }
        json::object& ext = extension->get_object();
        const json::value* manager = scim::find_ci(ext, "manager");
        if (manager == nullptr || !manager->is_object()) {
            return user;
        }
        const json::value* value = scim::find_ci(manager->get_object(), "value");
        if (value == nullptr || !value->is_string()) {
            return user;
        }
        const std::string source_id(value->get_string());
        erase_ci(ext, "manager");
        if (const CanonicalEntry* held = held_user(source_id)) {
            ext["manager"] = json::object{{"value", held->id}};
        } else if (new_users_.count(source_id) != 0) {
            plan_.pending_managers.emplace_back(user.external_id, source_id);
        }
        return user;
    }

    void plan_users() {
        for (const auto& [ext, pulled] : pulled_users_) {
            DirectoryUser user = resolve_manager(*pulled);
            if (const CanonicalEntry* held = held_user(ext)) {
                if (pulled_differs(held->resource, user.resource)) {
                    plan_.update_users.emplace_back(held->id, std::move(user));
                } else {
                    ++plan_.unchanged;
                }
            } else {
                user.resource = creatable(user.resource);
                plan_.create_users.push_back(std::move(user));
            }
        }
        std::sort(plan_.pending_managers.begin(), plan_.pending_managers.end());
        plan_.delete_user_ids =
            deletions(users_, pulled_user_ids_, removed_users_, snapshot_.complete);
    }

    // Source ids to canonical ids, pending (created by this plan) or unknown.
    void resolve_members(const std::vector<std::string>& source_ids,
                         bool groups,
                         std::vector<std::string>& canonical,
                         std::vector<std::string>& pending,
                         std::vector<std::string>& unknown) const {
        for (const std::string& s : source_ids) {
            const CanonicalEntry* held = groups ? held_group(s) : held_user(s);
            if (held != nullptr) {
                canonical.push_back(held->id);
            } else if ((groups ? new_groups_ : new_users_).count(s) != 0) {
                pending.push_back(s);
            } else {
                unknown.push_back(s);
            }
        }
    }

    void plan_groups() {
        for (const auto& [ext, pulled] : pulled_groups_) {
            PlannedGroup g;
            g.external_id = ext;
            g.display_name = pulled->display_name;
            g.members_are_delta = pulled->members_are_delta;
            resolve_members(pulled->member_user_ids,
                            false,
                            g.member_user_ids,
                            g.pending_user_ids,
                            g.unknown_member_ids);
            resolve_members(pulled->member_group_ids,
                            true,
                            g.member_group_ids,
                            g.pending_group_ids,
                            g.unknown_member_ids);
            std::vector<std::string> ignored_pending;
            std::vector<std::string> ignored_unknown;
            resolve_members(pulled->removed_member_user_ids,
                            false,
                            g.removed_member_user_ids,
                            ignored_pending,
                            ignored_unknown);
            resolve_members(pulled->removed_member_group_ids,
                            true,
                            g.removed_member_group_ids,
                            ignored_pending,
                            ignored_unknown);
            for (auto* list : {&g.member_user_ids,
                               &g.member_group_ids,
                               &g.pending_user_ids,
                               &g.pending_group_ids,
                               &g.unknown_member_ids,
                               &g.removed_member_user_ids,
                               &g.removed_member_group_ids}) {
                sort_unique(*list);
            }

            const CanonicalEntry* held = held_group(ext);
            if (held == nullptr) {
                g.removed_member_user_ids.clear();  // nothing to remove from a new group
                g.removed_member_group_ids.clear();
                plan_.create_groups.push_back(std::move(g));
                continue;
            }
            const auto current = member_values(held->resource);
            bool differs = !g.pending_user_ids.empty() || !g.pending_group_ids.empty();
            if (!g.display_name.empty()) {
                const json::value* name = scim::find_ci(held->resource, "displayName");
                differs = differs || name == nullptr || !name->is_string() ||
                          name->get_string() != g.display_name;
            }
            if (g.members_are_delta) {
                // Only real changes: adds of non-members, removals of members.
                const auto keep = [](std::vector<std::string>& ids, const auto& pred) {
                    ids.erase(std::remove_if(ids.begin(),
                                             ids.end(),
                                             [&](const std::string& id) { return !pred(id); }),
                              ids.end());
                };
                const auto absent = [&](const std::string& id) { return current.count(id) == 0; };
                const auto present = [&](const std::string& id) { return current.count(id) != 0; };
                keep(g.member_user_ids, absent);
                keep(g.member_group_ids, absent);
                keep(g.removed_member_user_ids, present);
                keep(g.removed_member_group_ids, present);
                differs = differs || !g.member_user_ids.empty() || !g.member_group_ids.empty() ||
                          !g.removed_member_user_ids.empty() || !g.removed_member_group_ids.empty();
            } else {
                std::set<std::string, std::less<>> wanted(g.member_user_ids.begin(),
                                                          g.member_user_ids.end());
                wanted.insert(g.member_group_ids.begin(), g.member_group_ids.end());
                differs = differs || wanted != current;
            }
            if (differs) {
                plan_.update_groups.emplace_back(held->id, std::move(g));
            } else {
                ++plan_.unchanged;
            }
        }
        plan_.delete_group_ids =
            deletions(groups_, pulled_group_ids_, removed_groups_, snapshot_.complete);
    }

    const DirectorySnapshot& snapshot_;
    const std::vector<CanonicalEntry>& users_;
    const std::vector<CanonicalEntry>& groups_;
    EntryIndex user_index_;
    EntryIndex group_index_;
    std::set<std::string, std::less<>> removed_users_;
    std::set<std::string, std::less<>> removed_groups_;
    std::map<std::string, const DirectoryUser*, std::less<>> pulled_users_;
    std::map<std::string, const DirectoryGroup*, std::less<>> pulled_groups_;
    std::set<std::string, std::less<>> pulled_user_ids_;
    std::set<std::string, std::less<>> pulled_group_ids_;
    std::set<std::string, std::less<>> new_users_;
    std::set<std::string, std::less<>> new_groups_;
    SyncPlan plan_;
};

}  // namespace

SyncPlan plan_directory_sync(const DirectorySnapshot& snapshot,
                             const std::vector<CanonicalEntry>& users,
                             const std::vector<CanonicalEntry>& groups) {
    return Planner(snapshot, users, groups).run();
}

}  // namespace scimbridge::mappers
