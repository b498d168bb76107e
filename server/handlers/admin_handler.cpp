#include "server/handlers/admin_handler.hpp"

#include "server/handlers/admin_common.hpp"

#include "db/pg_resource_store.hpp"
#include "mappers/webhook_signature.hpp"
#include "server/query.hpp"
#include "server/responses.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <set>

namespace scimbridge::server {

namespace json = boost::json;
using scim::Error;
using scim::Result;

namespace {

using admin::actor;
using admin::body_object;
using admin::error;
using admin::ok;
using admin::param;
using admin::tenant;
using admin::page_json;
using admin::QueryReader;

const std::set<std::string> kAccountStates{"initiated", "invited", "claimed", "pending", "active", "blocked"};
const std::set<std::string> kDeliveryStates{"pending", "leased", "delivered", "superseded", "skipped", "dead"};


// The stored app as the admin sees it (secrets hidden).
Result<json::object> public_json(const mappers::StoredApp& stored, const scim::SchemaRegistry& registry) {
    auto app = mappers::decode_app(stored.definition, registry);
    if (!app) {
        // Still show what is stored (an extension schema it used may be gone); never secrets.
        json::object o = stored.definition;
        o.erase("scim");
        if (o.contains("webhook") && o["webhook"].is_object()) {
            o["webhook"].as_object().erase("secrets");
        }
        o["id"] = stored.id;
        o["version"] = stored.version;
        o["invalid"] = app.error().detail;
        return o;
    }
    app->id = stored.id;
    app->version = stored.version;
    app->enabled = stored.enabled;
    return mappers::to_public_json(*app);
}

}  // namespace

Response AdminHandler::list_apps(const RequestContext& ctx) const {
    const auto registry = registries_.get(tenant(ctx));
    json::array items;
    for (const mappers::StoredApp& app : store_.list_apps(tenant(ctx))) {
        if (auto o = public_json(app, *registry)) {
            items.push_back(std::move(*o));
        }
    }
    return ok(ctx, json::object{{"items", std::move(items)}});
}

Response AdminHandler::create_app(const RequestContext& ctx) const {
    auto body = body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    const auto registry = registries_.get(tenant(ctx));
    auto app = mappers::decode_app(*body, *registry);
    if (!app) {
        return error(ctx, app.error());
    }
    auto stored = store_.create_app(tenant(ctx), *app, actor(ctx));
    if (!stored) {
        return error(ctx, stored.error());
    }
    app->id = stored->id;
    app->version = stored->version;
    json::object out = mappers::to_public_json(*app);
    if (app->connector == "webhook") {
        // Shown once, so the app owner can configure verification; later reads show a hint.
        json::array secrets;
        for (const std::string& s : app->webhook.secrets) {
            secrets.emplace_back(s);
        }
        out["webhook"].as_object()["secrets"] = std::move(secrets);
    }
    return ok(ctx, out, http::status::created);
}

Response AdminHandler::get_app(const RequestContext& ctx) const {
    const auto stored = store_.get_app(tenant(ctx), *param(ctx, "id"));
    if (!stored) {
        return error(ctx, Error::not_found("no such app"));
    }
    auto o = public_json(*stored, *registries_.get(tenant(ctx)));
    return o ? ok(ctx, *o) : error(ctx, o.error());
}

Response AdminHandler::update_app(const RequestContext& ctx) const {
    auto body = body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    const auto stored = store_.get_app(tenant(ctx), *param(ctx, "id"));
    if (!stored) {
        return error(ctx, Error::not_found("no such app"));
    }
    std::optional<std::int64_t> expected;
    if (const json::value* v = body->if_contains("version"); v != nullptr && v->is_int64()) {
        expected = v->as_int64();
    }
    body->erase("version");
    body->erase("id");
    const auto registry = registries_.get(tenant(ctx));
    auto app = mappers::decode_app(mappers::merge_app_json(stored->definition, *body), *registry);
    if (!app) {
        return error(ctx, app.error());
    }
    auto updated = store_.update_app(tenant(ctx), stored->id, *app, expected, actor(ctx));
    if (!updated) {
        return error(ctx, updated.error());
    }
    auto o = public_json(*updated, *registry);
    return o ? ok(ctx, *o) : error(ctx, o.error());
}

Response AdminHandler::delete_app(const RequestContext& ctx) const {
    auto removed = store_.delete_app(tenant(ctx), *param(ctx, "id"), actor(ctx));
    if (!removed) {
        return error(ctx, removed.error());
    }
    return render_text(http::status::no_content, "", admin::kJson, ctx.request.version(),
                       ctx.request.keep_alive());
}

Response AdminHandler::rotate_secret(const RequestContext& ctx) const {
    const auto stored = store_.get_app(tenant(ctx), *param(ctx, "id"));
    if (!stored) {
        return error(ctx, Error::not_found("no such app"));
    }
    const auto registry = registries_.get(tenant(ctx));
    auto app = mappers::decode_app(stored->definition, *registry);
    if (!app) {
        return error(ctx, app.error());
    }
    if (app->connector != "webhook") {
        return error(ctx, Error::bad_request("only webhook apps have signing secrets"));
    }
    // The newest old secret keeps signing alongside the new one until the next rotation, so the
    // app can switch its verifier without a gap (Standard Webhooks: several signatures).
    const std::string fresh = mappers::generate_webhook_secret();
    std::vector<std::string> secrets{fresh, app->webhook.secrets.front()};
    app->webhook.secrets = secrets;
    auto updated = store_.update_app(tenant(ctx), stored->id, *app, stored->version, actor(ctx));
    if (!updated) {
        return error(ctx, updated.error());
    }
    return ok(ctx, json::object{{"id", stored->id}, {"version", updated->version}, {"secret", fresh},
                                {"signing_with", 2}});
}

Response AdminHandler::preview(const RequestContext& ctx) const {
    auto body = body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    const auto stored = store_.get_app(tenant(ctx), *param(ctx, "id"));
    if (!stored) {
        return error(ctx, Error::not_found("no such app"));
    }
    const auto registry = registries_.get(tenant(ctx));
    // A preview may try an edited mapping before saving it: {"user": id, "app": {...changes}}.
    json::object definition = stored->definition;
    if (const json::value* changes = body->if_contains("app"); changes != nullptr && changes->is_object()) {
        definition = mappers::merge_app_json(definition, changes->as_object());
    }
    auto app = mappers::decode_app(definition, *registry);
    if (!app) {
        return error(ctx, app.error());
    }
    const json::value* user = body->if_contains("user");
    const json::value* group = body->if_contains("group");
    const json::value* id = user != nullptr ? user : group;
    if (id == nullptr || !id->is_string() || !db::is_uuid(id->as_string())) {
        return error(ctx, Error::bad_request("give \"user\" or \"group\": the resource's id"));
    }
    auto p = processor_.preview(*app, tenant(ctx),
                                user != nullptr ? scim::ResourceKind::kUser : scim::ResourceKind::kGroup,
                                std::string(id->as_string()));
    if (!p) {
        return error(ctx, p.error());
    }
    json::array errors;
    for (const std::string& e : p->errors) {
        errors.emplace_back(e);
    }
    return ok(ctx, json::object{{"in_scope", p->in_scope}, {"payload", p->payload}, {"errors", std::move(errors)}});
}

Response AdminHandler::accounts(const RequestContext& ctx) const {
    QueryReader r(ctx);
    mappers::AccountQuery q;
    r.uuid("app", q.app_id);
    r.uuid("user", q.user_id);
    r.text("state", q.state, kAccountStates);
    r.text("after", q.after);
    r.count(q.limit);
    if (r.error()) {
        return error(ctx, *r.error());
    }
    return ok(ctx, page_json(store_.accounts(tenant(ctx), q)));
}

Response AdminHandler::deliveries(const RequestContext& ctx) const {
    QueryReader r(ctx);
    mappers::DeliveryQuery q;
    r.uuid("app", q.app_id);
    r.uuid("resource", q.resource_id);
    r.text("state", q.state, kDeliveryStates);
    r.integer("after", q.after);
    r.count(q.limit);
    if (r.error()) {
        return error(ctx, *r.error());
    }
    return ok(ctx, page_json(store_.deliveries(tenant(ctx), q)));
}

Response AdminHandler::replay(const RequestContext& ctx) const {
    auto body = body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    mappers::ReplayRequest r;
    if (const json::value* ids = body->if_contains("ids"); ids != nullptr) {
        if (!ids->is_array() || ids->as_array().size() > 10000) {
            return error(ctx, Error::bad_request("ids must be an array of at most 10000 delivery ids"));
        }
        for (const json::value& v : ids->as_array()) {
            if (!v.is_int64() || v.as_int64() <= 0) {
                return error(ctx, Error::bad_request("ids must be positive integers"));
            }
            r.ids.push_back(v.as_int64());
        }
    }
    for (const auto& [key, field] : {std::pair{"from", &r.from}, std::pair{"to", &r.to},
                                     std::pair{"app", &r.app_id}, std::pair{"state", &r.state}}) {
        if (const json::value* v = body->if_contains(key); v != nullptr && !v->is_null()) {
            if (!v->is_string()) {
                return error(ctx, Error::bad_request(std::string(key) + " must be a string"));
            }
            *field = std::string(v->as_string());
        }
    }
    if (r.state && *r.state != "dead" && *r.state != "delivered" && *r.state != "skipped") {
        return error(ctx, Error::bad_request("state must be dead, delivered or skipped"));
    }
    if (r.app_id && !db::is_uuid(*r.app_id)) {
        return error(ctx, Error::bad_request("app must be a UUID"));
    }
    auto n = store_.replay(tenant(ctx), r, actor(ctx));
    if (!n) {
        return error(ctx, n.error());
    }
    return ok(ctx, json::object{{"replayed", *n}});
}

Response AdminHandler::audit(const RequestContext& ctx) const {
    QueryReader r(ctx);
    mappers::AuditQuery q;
    r.uuid("app", q.app_id);
    r.uuid("resource", q.resource_id);
    r.text("action", q.action);
    r.integer("after", q.after);
    r.count(q.limit);
    if (r.error()) {
        return error(ctx, *r.error());
    }
    return ok(ctx, page_json(store_.audit(tenant(ctx), q)));
}

}  // namespace scimbridge::server
