#include "server/handlers/scim_handler.hpp"

#include "scim/text.hpp"
#include "server/config.hpp"
#include "server/query.hpp"
#include "server/responses.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <charconv>

namespace scimbridge::server {

namespace json = boost::json;
using scim::Error;
using scim::ResourceKind;
using scim::Result;

namespace {

constexpr const char* kListResponse = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

std::string_view header(const RequestContext& ctx, http::field field) {
    const auto it = ctx.request.find(field);
    return it == ctx.request.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

unsigned version(const RequestContext& ctx) { return ctx.request.version(); }
bool keep_alive(const RequestContext& ctx) { return ctx.request.keep_alive(); }

Response error(const RequestContext& ctx, const Error& e) {
    return render_error(e, version(ctx), keep_alive(ctx));
}

// RFC 7644 §3.1: requests carry application/scim+json; application/json is accepted too.
Result<json::value> decode_body(const RequestContext& ctx) {
    const std::string type = scim::ascii_lower(header(ctx, http::field::content_type));
    const std::string media = type.substr(0, type.find(';'));
    const auto trimmed = media.substr(0, media.find_last_not_of(' ') + 1);
    if (!trimmed.empty() && trimmed != "application/scim+json" && trimmed != "application/json") {
        return Error::unsupported_media_type("send application/scim+json or application/json");
    }
    boost::system::error_code ec;
    json::value body = json::parse(ctx.request.body(), ec);
    if (ec) {
        return Error::invalid_syntax("the body is not valid JSON: " + ec.message());
    }
    return body;
}

// 406 when the client accepts neither application/scim+json nor application/json.
std::optional<Error> check_accept(const RequestContext& ctx) {
    const std::string accept = scim::ascii_lower(header(ctx, http::field::accept));
    if (accept.empty()) {
        return std::nullopt;
    }
    for (const char* ok : {"application/scim+json", "application/json", "*/*", "application/*"}) {
        if (accept.find(ok) != std::string::npos) {
            return std::nullopt;
        }
    }
    return Error{406, scim::ScimType::kNone, "responses are application/scim+json"};
}

struct Query {
    std::map<std::string, std::string> params;  // keys lower-cased
    scim::Projection projection;                 // attributes / excludedAttributes
    const std::string* get(const char* key) const {
        const auto it = params.find(key);
        return it == params.end() ? nullptr : &it->second;
    }
};

Result<scim::Projection> projection_of(const Query& q) {
    scim::Projection p;
    if (const std::string* a = q.get("attributes")) {
        auto list = scim::parse_attribute_list(*a);
        if (!list) {
            return list.error();
        }
        p.attributes = std::move(*list);
    }
    if (const std::string* e = q.get("excludedattributes")) {
        auto list = scim::parse_attribute_list(*e);
        if (!list) {
            return list.error();
        }
        p.excluded_attributes = std::move(*list);
    }
    return p;
}

// The query string with its projection: every SCIM route that takes one reads both.
Result<Query> parse(const RequestContext& ctx) {
    auto raw = parse_query(ctx.query);
    if (!raw) {
        return Error::bad_request("malformed query string");
    }
    Query q;
    for (auto& [k, v] : *raw) {
        q.params.emplace(scim::ascii_lower(k), std::move(v));
    }
    auto proj = projection_of(q);
    if (!proj) {
        return proj.error();
    }
    q.projection = std::move(*proj);
    return q;
}

Result<std::int64_t> integer_param(const Query& q, const char* key, std::int64_t fallback) {
    const std::string* v = q.get(key);
    if (v == nullptr || v->empty()) {
        return fallback;
    }
    std::int64_t n = 0;
    const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size()) {
        return Error::invalid_value(std::string(key == std::string("startindex") ? "startIndex" : "count") +
                                    " must be an integer");
    }
    return n;
}

// What the projection needs loaded: members and groups only when they will be returned, so
// excludedAttributes=members never reads membership rows.
scim::LoadOptions load_for(const scim::SchemaRegistry& registry, const scim::ResourceType& type,
                           const scim::Projection& p) {
    const scim::LoadPlan plan = scim::load_plan(registry, type, p);
    return scim::LoadOptions{plan.members, plan.groups};
}

Response resource_response(const RequestContext& ctx, http::status status,
                           const scim::SchemaRegistry& registry, const scim::ResourceType& type,
                           const scim::StoredResource& r, const scim::Projection& p,
                           const std::string& base) {
    Response res = render_json(status, scim::project(registry, type, scim::render_resource(type, r, base), p),
                               version(ctx), keep_alive(ctx));
    res.set(http::field::etag, scim::etag_of(r.version));
    if (status == http::status::created) {
        res.set(http::field::location, base + type.endpoint + "/" + r.id);
    }
    return res;
}

json::object with_meta(json::object o, const char* resource_type, const std::string& location) {
    o["meta"] = json::object{{"resourceType", resource_type}, {"location", location}};
    return o;
}

json::object list_response(json::array resources, std::int64_t total) {
    const auto n = static_cast<std::int64_t>(resources.size());
    return json::object{{"schemas", json::array{kListResponse}},
                        {"totalResults", total},
                        {"startIndex", 1},
                        {"itemsPerPage", n},
                        {"Resources", std::move(resources)}};
}

}  // namespace

const scim::ResourceType& ScimHandler::Call::type(ResourceKind kind) const {
    return *registry->resource_type(scim::resource_type_id(kind));
}

ScimHandler::Call::~Call() {
    if (metrics != nullptr && rewrites && !rewrites->empty()) {
        metrics->record_rewrites(request->principal->tenant_id, request->principal->tenant_name,
                                 request->principal->source, rewrites->names());
    }
}

ScimHandler::Call ScimHandler::call(const RequestContext& ctx) const {
    Call c;
    c.registry = registries_.get(ctx.principal->tenant_id);
    c.request = &ctx;
    c.metrics = metrics_;
    c.context.tenant_id = ctx.principal->tenant_id;
    c.context.registry = c.registry.get();
    const Principal& p = *ctx.principal;
    c.context.leniency = p.strict    ? scim::Leniency::kStrict
                         : p.lenient ? scim::Leniency::kLenient
                                     : scim::Leniency::kCoerce;
    c.context.dialect = scim::dialect_for(p.source, p.strict);
    c.context.rewrites = c.rewrites.get();
    return c;
}

std::string ScimHandler::base_url(const RequestContext& ctx) const {
    if (!options_.public_base_url.empty()) {
        return options_.public_base_url + "/scim/v2";
    }
    std::string host(header(ctx, http::field::host));
    for (const char c : host) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                        c == ':' || c == '[' || c == ']';
        if (!ok) {
            host = "localhost";  // never echo a hostile Host into URLs
            break;
        }
    }
    if (host.empty()) {
        host = "localhost";
    }
    return std::string(ctx.secure ? "https://" : "http://") + host + "/scim/v2";
}

namespace {
// What a write request carries: an acceptable body and the projection for the response.
struct WriteInput {
    json::value body;
    scim::Projection projection;
};

Result<WriteInput> decode_write(const RequestContext& ctx) {
    if (auto e = check_accept(ctx)) {
        return *e;
    }
    auto body = decode_body(ctx);
    if (!body) {
        return body.error();
    }
    auto query = parse(ctx);
    if (!query) {
        return query.error();
    }
    return WriteInput{std::move(*body), std::move(query->projection)};
}
}  // namespace

Response ScimHandler::create(const RequestContext& ctx, ResourceKind kind) const {
    auto in = decode_write(ctx);
    if (!in) {
        return error(ctx, in.error());
    }
    const scim::Projection* proj = &in->projection;
    const Call c = call(ctx);
    auto created = service_.create(c.context, kind, in->body);
    if (!created) {
        return error(ctx, created.error());
    }
    return resource_response(ctx, http::status::created, *c.registry, c.type(kind), *created, *proj,
                             base_url(ctx));
}

Response ScimHandler::get(const RequestContext& ctx, ResourceKind kind) const {
    if (auto e = check_accept(ctx)) {
        return error(ctx, *e);
    }
    auto query = parse(ctx);
    if (!query) {
        return error(ctx, query.error());
    }
    const scim::Projection* proj = &query->projection;
    const Call c = call(ctx);
    const scim::ResourceType& type = c.type(kind);
    auto found = service_.get(c.context, kind, ctx.params.at("id"), load_for(*c.registry, type, *proj));
    if (!found) {
        return error(ctx, found.error());
    }
    const std::string_view if_none_match = header(ctx, http::field::if_none_match);
    if (!if_none_match.empty() && scim::etag_matches(if_none_match, found->version)) {
        Response res{http::status::not_modified, version(ctx)};
        res.set(http::field::etag, scim::etag_of(found->version));
        res.keep_alive(keep_alive(ctx));
        return res;
    }
    return resource_response(ctx, http::status::ok, *c.registry, type, *found, *proj, base_url(ctx));
}

Response ScimHandler::replace(const RequestContext& ctx, ResourceKind kind) const {
    auto in = decode_write(ctx);
    if (!in) {
        return error(ctx, in.error());
    }
    const scim::Projection* proj = &in->projection;
    const Call c = call(ctx);
    const scim::ResourceType& type = c.type(kind);
    auto replaced = service_.replace(c.context, kind, ctx.params.at("id"), in->body,
                                     header(ctx, http::field::if_match),
                                     load_for(*c.registry, type, *proj));
    if (!replaced) {
        return error(ctx, replaced.error());
    }
    return resource_response(ctx, http::status::ok, *c.registry, type, *replaced, *proj,
                             base_url(ctx));
}

Response ScimHandler::patch(const RequestContext& ctx, ResourceKind kind) const {
    auto in = decode_write(ctx);
    if (!in) {
        return error(ctx, in.error());
    }
    const Call c = call(ctx);
    const scim::ResourceType& type = c.type(kind);
    const bool asked = !in->projection.attributes.empty() || !in->projection.excluded_attributes.empty();
    const bool no_content = !asked && patch_answers_no_content(options_.patch_no_content,
                                                               ctx.principal->source, type.id);
    const scim::LoadOptions load =
        no_content ? scim::LoadOptions{} : load_for(*c.registry, type, in->projection);
    auto patched = service_.patch(c.context, kind, ctx.params.at("id"), in->body,
                                  header(ctx, http::field::if_match), load);
    if (!patched) {
        return error(ctx, patched.error());
    }
    if (no_content) {
        Response res{http::status::no_content, version(ctx)};
        res.set(http::field::etag, scim::etag_of(patched->version));
        res.keep_alive(keep_alive(ctx));
        return res;
    }
    return resource_response(ctx, http::status::ok, *c.registry, type, *patched, in->projection,
                             base_url(ctx));
}

Response ScimHandler::bulk(const RequestContext& ctx) const {
    if (auto e = check_accept(ctx)) {
        return error(ctx, *e);
    }
    auto body = decode_body(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    const Call c = call(ctx);
    auto results = bulk_.run(c.context, *body, {options_.bulk_max_operations}, base_url(ctx));
    if (!results) {
        return error(ctx, results.error());
    }
    return render_json(http::status::ok, scim::to_json(*results), version(ctx), keep_alive(ctx));
}

Response ScimHandler::remove(const RequestContext& ctx, ResourceKind kind) const {
    auto removed = service_.remove(call(ctx).context, kind, ctx.params.at("id"),
                                   header(ctx, http::field::if_match));
    if (!removed) {
        return error(ctx, removed.error());
    }
    Response res{http::status::no_content, version(ctx)};
    res.keep_alive(keep_alive(ctx));
    return res;
}

scim::Result<std::pair<scim::ListParams, scim::Projection>> ScimHandler::params_from_query(
    const RequestContext& ctx) const {
    auto query = parse(ctx);
    if (!query) {
        return query.error();
    }
    auto start = integer_param(*query, "startindex", 1);
    auto count = integer_param(*query, "count", service_.limits().default_count);
    if (!start) {
        return start.error();
    }
    if (!count) {
        return count.error();
    }
    scim::ListParams params;
    params.filter = query->get("filter") != nullptr ? *query->get("filter") : "";
    params.start_index = *start;
    params.count = *count;
    params.sort_by = query->get("sortby") != nullptr ? *query->get("sortby") : "";
    if (const std::string* order = query->get("sortorder")) {
        if (*order != "ascending" && *order != "descending") {
            return Error::invalid_value("sortOrder must be ascending or descending");
        }
        params.descending = *order == "descending";
    }
    if (const std::string* cursor = query->get("cursor")) {
        params.cursor = *cursor;  // present, even empty: cursor paging (RFC 9865)
    }
    return std::make_pair(std::move(params), std::move(query->projection));
}

scim::Result<std::pair<scim::ListParams, scim::Projection>> ScimHandler::params_from_body(
    const RequestContext& ctx) const {
    auto body = decode_body(ctx);
    if (!body) {
        return body.error();
    }
    if (!body->is_object()) {
        return Error::invalid_syntax("a SearchRequest is a JSON object");
    }
    // RFC 7644 §3.4.3: the query parameters, as members of a SearchRequest.
    scim::ListParams params;
    scim::Projection proj;
    params.count = service_.limits().default_count;
    for (const auto& [key, value] : body->as_object()) {
        const std::string k = scim::ascii_lower(key);
        const auto string_list = [&](std::vector<scim::AttrPath>& out) -> std::optional<Error> {
            std::string joined;
            if (value.is_array()) {
                for (const json::value& item : value.as_array()) {
                    if (!item.is_string()) {
                        return Error::invalid_value(std::string(key) + " must hold attribute names");
                    }
                    joined += std::string(item.as_string()) + ",";
                }
            } else if (value.is_string()) {
                joined = std::string(value.as_string());
            } else {
                return Error::invalid_value(std::string(key) + " must be a list of attribute names");
            }
            auto parsed = scim::parse_attribute_list(joined);
            if (!parsed) {
                return parsed.error();
            }
            out = std::move(*parsed);
            return std::nullopt;
        };
        std::optional<Error> problem;
        if (k == "schemas") {
            continue;
        } else if (k == "attributes") {
            problem = string_list(proj.attributes);
        } else if (k == "excludedattributes") {
            problem = string_list(proj.excluded_attributes);
        } else if (k == "filter" && value.is_string()) {
            params.filter = std::string(value.as_string());
        } else if (k == "sortby" && value.is_string()) {
            params.sort_by = std::string(value.as_string());
        } else if (k == "sortorder" && value.is_string() &&
                   (value.as_string() == "ascending" || value.as_string() == "descending")) {
            params.descending = value.as_string() == "descending";
        } else if (k == "startindex" && value.is_int64()) {
            params.start_index = value.as_int64();
        } else if (k == "count" && value.is_int64()) {
            params.count = value.as_int64();
        } else if (k == "cursor" && value.is_string()) {
            params.cursor = std::string(value.as_string());
        } else {
            problem = Error::invalid_value("unexpected or malformed SearchRequest member '" +
                                           std::string(key) + "'");
        }
        if (problem) {
            return *problem;
        }
    }
    return std::make_pair(std::move(params), std::move(proj));
}

Response ScimHandler::list(const RequestContext& ctx, ResourceKind kind) const {
    if (auto e = check_accept(ctx)) {
        return error(ctx, *e);
    }
    auto p = params_from_query(ctx);
    return p ? run_list(ctx, kind, p->first, p->second) : error(ctx, p.error());
}

Response ScimHandler::search(const RequestContext& ctx, ResourceKind kind) const {
    if (auto e = check_accept(ctx)) {
        return error(ctx, *e);
    }
    auto p = params_from_body(ctx);
    return p ? run_list(ctx, kind, p->first, p->second) : error(ctx, p.error());
}

Response ScimHandler::root_list(const RequestContext& ctx) const {
    if (auto e = check_accept(ctx)) {
        return error(ctx, *e);
    }
    auto p = params_from_query(ctx);
    return p ? run_root(ctx, p->first, p->second) : error(ctx, p.error());
}

Response ScimHandler::root_search(const RequestContext& ctx) const {
    if (auto e = check_accept(ctx)) {
        return error(ctx, *e);
    }
    auto p = params_from_body(ctx);
    return p ? run_root(ctx, p->first, p->second) : error(ctx, p.error());
}

Response ScimHandler::run_root(const RequestContext& ctx, const scim::ListParams& query,
                               const scim::Projection& proj) const {
    if (query.cursor) {
        return error(ctx, Error::invalid_value("cursor paging is per resource type; query /Users or /Groups"));
    }
    const Call c = call(ctx);
    const std::string base = base_url(ctx);
    // Users first, then Groups, as one index-paged sequence. A filter naming an attribute one
    // type does not have simply matches nothing of that type.
    const std::int64_t start = std::max<std::int64_t>(1, query.start_index);
    const std::int64_t count = std::clamp<std::int64_t>(query.count, 0, service_.limits().max_count);
    std::int64_t total = 0;
    std::int64_t skipped_before = 0;  // resources of earlier types before this one
    json::monotonic_resource arena;  // as in run_list
    const json::storage_ptr sp(&arena);
    json::array resources(sp);
    std::optional<Error> first_error;
    int refused = 0;
    for (const ResourceKind kind : {ResourceKind::kUser, ResourceKind::kGroup}) {
        const scim::ResourceType& type = c.type(kind);
        scim::ListParams params = query;
        params.load = load_for(*c.registry, type, proj);
        // Where this type's slice of the combined sequence starts, in its own numbering.
        const std::int64_t local_start = std::max<std::int64_t>(1, start - skipped_before);
        const std::int64_t room = count - static_cast<std::int64_t>(resources.size());
        params.start_index = local_start;
        params.count = std::max<std::int64_t>(0, room);
        params.storage = sp;
        auto page = service_.list(c.context, kind, params);
        if (!page) {
            if (page.error().scim_type != scim::ScimType::kInvalidFilter || first_error) {
                return error(ctx, first_error ? *first_error : page.error());
            }
            first_error = page.error();
            ++refused;
            continue;
        }
        const std::int64_t n = page->total_results.value_or(0);
        total += n;
        skipped_before += n;
        const scim::Projector projector(*c.registry, type, proj);
        for (scim::StoredResource& r : page->resources) {
            resources.emplace_back(projector(scim::render_resource(type, std::move(r), base)));
        }
    }
    if (refused == 2) {
        return error(ctx, *first_error);
    }
    const auto n = static_cast<std::int64_t>(resources.size());
    json::object body({{"schemas", json::array{kListResponse}},
                       {"totalResults", total},
                       {"itemsPerPage", n},
                       {"startIndex", start}},
                      sp);
    body["Resources"] = std::move(resources);
    return render_json(http::status::ok, body, version(ctx), keep_alive(ctx));
}

Response ScimHandler::run_list(const RequestContext& ctx, ResourceKind kind,
                               const scim::ListParams& query, const scim::Projection& proj) const {
    const Call c = call(ctx);
    const scim::ResourceType& type = c.type(kind);
    // The page is read, rendered, projected and serialised in one arena, freed at once: moved
    // from step to step, a value is allocated once and never freed on its own.
    json::monotonic_resource arena;
    const json::storage_ptr sp(&arena);
    scim::ListParams params = query;
    params.load = load_for(*c.registry, type, proj);
    params.storage = sp;
    auto page = service_.list(c.context, kind, params);
    if (!page) {
        return error(ctx, page.error());
    }
    const std::string base = base_url(ctx);
    const scim::Projector projector(*c.registry, type, proj);
    json::array resources(sp);
    resources.reserve(page->resources.size());
    for (scim::StoredResource& r : page->resources) {
        resources.emplace_back(projector(scim::render_resource(type, std::move(r), base)));
    }
    const auto n = static_cast<std::int64_t>(resources.size());
    json::object body({{"schemas", json::array{kListResponse}}}, sp);
    if (page->total_results) {
        body["totalResults"] = *page->total_results;
    }
    body["itemsPerPage"] = n;
    if (!params.cursor) {
        body["startIndex"] = std::max<std::int64_t>(1, params.start_index);
    }
    if (page->next_cursor) {
        body["nextCursor"] = *page->next_cursor;
    }
    if (page->previous_cursor) {
        body["previousCursor"] = *page->previous_cursor;
    }
    body["Resources"] = std::move(resources);
    return render_json(http::status::ok, body, version(ctx), keep_alive(ctx));
}

Response ScimHandler::service_provider_config(const RequestContext& ctx) const {
    const std::string base = base_url(ctx);
    json::object config{
        {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}},
        {"documentationUri", "https://datatracker.ietf.org/doc/html/rfc7644"},
        {"patch", json::object{{"supported", true}}},
        {"bulk", json::object{{"supported", true},
                              {"maxOperations", options_.bulk_max_operations},
                              {"maxPayloadSize", options_.max_payload_bytes}}},
        {"filter", json::object{{"supported", true}, {"maxResults", service_.limits().max_count}}},
        {"changePassword", json::object{{"supported", false}}},
        {"sort", json::object{{"supported", true}}},
        // RFC 9865: both index and cursor paging.
        {"pagination", json::object{{"cursor", true},
                                    {"index", true},
                                    {"defaultPaginationMethod", "index"},
                                    {"defaultPageSize", service_.limits().default_count},
                                    {"maxPageSize", service_.limits().max_count},
                                    {"cursorTimeout", service_.limits().cursor_timeout_seconds}}},
        {"etag", json::object{{"supported", true}}},
        {"authenticationSchemes",
         json::array{json::object{{"type", "oauthbearertoken"},
                                  {"name", "Bearer token"},
                                  {"description", "A per-tenant API token: Authorization: Bearer <token>"},
                                  {"primary", true}}}}};
    return render_json(http::status::ok,
                       with_meta(std::move(config), "ServiceProviderConfig", base + "/ServiceProviderConfig"),
                       version(ctx), keep_alive(ctx));
}

namespace {

// A discovery collection (RFC 7644 §4) as a ListResponse; each item with its meta.
template <class Item>
Response discovery_list(const RequestContext& ctx, const std::vector<Item>& items,
                        const char* resource_type, const std::string& base) {
    json::array all;
    for (const Item& item : items) {
        all.emplace_back(with_meta(scim::to_json(item), resource_type, base + "/" + item.id));
    }
    const auto n = static_cast<std::int64_t>(all.size());
    return render_json(http::status::ok, list_response(std::move(all), n), version(ctx),
                       keep_alive(ctx));
}

// One discovery item by id, or a 404 SCIM error.
template <class Item>
Response discovery_item(const RequestContext& ctx, const Item* item, const char* resource_type,
                        const std::string& base) {
    if (item == nullptr) {
        return error(ctx, Error::not_found("no " + std::string(resource_type) + " " +
                                           ctx.params.at("id")));
    }
    return render_json(http::status::ok,
                       with_meta(scim::to_json(*item), resource_type, base + "/" + item->id),
                       version(ctx), keep_alive(ctx));
}

}  // namespace

Response ScimHandler::resource_types(const RequestContext& ctx) const {
    return discovery_list(ctx, call(ctx).registry->resource_types(), "ResourceType",
                          base_url(ctx) + "/ResourceTypes");
}

Response ScimHandler::resource_type(const RequestContext& ctx) const {
    return discovery_item(ctx, call(ctx).registry->resource_type(ctx.params.at("id")),
                          "ResourceType", base_url(ctx) + "/ResourceTypes");
}

Response ScimHandler::schemas(const RequestContext& ctx) const {
    return discovery_list(ctx, call(ctx).registry->schemas(), "Schema", base_url(ctx) + "/Schemas");
}

Response ScimHandler::schema(const RequestContext& ctx) const {
    return discovery_item(ctx, call(ctx).registry->schema(ctx.params.at("id")), "Schema",
                          base_url(ctx) + "/Schemas");
}

}  // namespace scimbridge::server
