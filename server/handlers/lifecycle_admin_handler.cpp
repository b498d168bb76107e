#include "server/handlers/lifecycle_admin_handler.hpp"

#include "mappers/reconcile.hpp"

#include "server/handlers/admin_common.hpp"

#include <boost/json.hpp>

namespace scimbridge::server {

namespace json = boost::json;
using admin::actor;
using admin::error;
using admin::ok;
using admin::param;
using admin::tenant;

namespace {

mappers::AccountRef account_of(const RequestContext& ctx) {
    return mappers::AccountRef{tenant(ctx), *param(ctx, "id"), *param(ctx, "user")};
}

json::object account_json(const mappers::AccountOutcome& o) {
    return json::object{{"app", o.account.app_id},
                        {"user", o.account.user_id},
                        {"userName", o.user_name},
                        {"state", o.state ? json::value(mappers::to_string(*o.state)) : json::value(nullptr)}};
}

Response csv(const RequestContext& ctx, std::string body, const std::string& name) {
    Response res = render_text(http::status::ok, std::move(body), "text/csv; charset=utf-8",
                               ctx.request.version(), ctx.request.keep_alive());
    res.set(http::field::content_disposition, "attachment; filename=\"" + name + "\"");
    return res;
}

}  // namespace

Response LifecycleAdminHandler::invite(const RequestContext& ctx) const {
    const auto invited = lifecycle_.invite(account_of(ctx), actor(ctx));
    if (!invited) {
        return error(ctx, invited.error());
    }
    json::object body = account_json(invited->outcome);
    body["claim_url"] = invited->claim_url;
    body["expires_at"] = invited->expires_at;
    return ok(ctx, body, http::status::created);
}

Response LifecycleAdminHandler::invite_all(const RequestContext& ctx) const {
    if (!lifecycle_.store().set_invite_now(tenant(ctx), *param(ctx, "id"), actor(ctx))) {
        return error(ctx, scim::Error::not_found("no such app"));
    }
    if (wake_scheduler_) {
        wake_scheduler_();
    }
    return ok(ctx, json::object{{"app", *param(ctx, "id")}, {"invite", "now"},
                                {"detail", "every initiated account of the app is being invited"}},
              http::status::accepted);
}

Response LifecycleAdminHandler::act(const RequestContext& ctx, mappers::AdminAction action) const {
    const auto outcome = lifecycle_.act(account_of(ctx), action, actor(ctx));
    if (!outcome) {
        return error(ctx, outcome.error());
    }
    return ok(ctx, account_json(*outcome));
}

Response LifecycleAdminHandler::block(const RequestContext& ctx) const { return act(ctx, mappers::AdminAction::kBlock); }
Response LifecycleAdminHandler::unblock(const RequestContext& ctx) const { return act(ctx, mappers::AdminAction::kUnblock); }
Response LifecycleAdminHandler::approve(const RequestContext& ctx) const { return act(ctx, mappers::AdminAction::kApprove); }
Response LifecycleAdminHandler::deny(const RequestContext& ctx) const { return act(ctx, mappers::AdminAction::kDeny); }
Response LifecycleAdminHandler::remove(const RequestContext& ctx) const { return act(ctx, mappers::AdminAction::kDelete); }

Response LifecycleAdminHandler::issue_access_code(const RequestContext& ctx) const {
    const auto issued = lifecycle_.issue_access_code(account_of(ctx), actor(ctx));
    if (!issued) {
        return error(ctx, issued.error());
    }
    json::object body = account_json(issued->outcome);
    body["access_code"] = issued->code;
    body["expires_at"] = issued->expires_at;
    return ok(ctx, body, http::status::created);
}

Response LifecycleAdminHandler::revoke_access_code(const RequestContext& ctx) const {
    const auto outcome = lifecycle_.revoke_access_code(account_of(ctx), actor(ctx));
    if (!outcome) {
        return error(ctx, outcome.error());
    }
    return ok(ctx, account_json(*outcome));
}

Response LifecycleAdminHandler::claim_links_csv(const RequestContext& ctx) const {
    return csv(ctx, lifecycle_.claim_links_csv(tenant(ctx), *param(ctx, "id")), "claim-links.csv");
}

Response LifecycleAdminHandler::schedules(const RequestContext& ctx) const {
    json::array rows;
    for (const mappers::ScheduleEntry& e : schedules_.jobs(tenant(ctx))) {
        rows.push_back(json::object{{"key", e.key},
                                    {"kind", e.kind},
                                    {"subject", e.subject_id ? json::value(*e.subject_id) : json::value(nullptr)},
                                    {"period_minutes", static_cast<double>(e.period.count()) / 60000.0},
                                    {"enabled", e.enabled},
                                    {"next_run_at", e.next_run_at},
                                    {"dry_run_requested", e.dry_run_requested}});
    }
    return ok(ctx, json::object{{"schedules", std::move(rows)}});
}

Response LifecycleAdminHandler::schedule_runs(const RequestContext& ctx) const {
    admin::QueryReader r(ctx);
    mappers::RunQuery q;
    r.text("key", q.key);
    r.integer("after", q.after);
    r.count(q.limit);
    if (r.error()) {
        return error(ctx, *r.error());
    }
    const mappers::RowPage page = schedules_.runs(tenant(ctx), q);
    json::object body{{"runs", page.rows}};
    if (page.next) {
        body["next"] = *page.next;
    }
    return ok(ctx, body);
}

Response LifecycleAdminHandler::configure_schedule(const RequestContext& ctx) const {
    auto body = admin::body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    std::optional<std::chrono::milliseconds> period;
    std::optional<bool> enabled;
    if (const json::value* p = body->if_contains("period_minutes")) {
        if (!p->is_number() || p->to_number<double>() < 1 || p->to_number<double>() > 7 * 24 * 60) {
            return error(ctx, scim::Error::invalid_value("period_minutes must be a number from 1 to 10080"));
        }
        period = std::chrono::milliseconds(static_cast<std::int64_t>(p->to_number<double>() * 60000.0 *
                                                                     lifecycle_.settings().time_scale));
    }
    if (const json::value* e = body->if_contains("enabled")) {
        if (!e->is_bool()) {
            return error(ctx, scim::Error::invalid_value("enabled must be a boolean"));
        }
        enabled = e->as_bool();
    }
    auto done = schedules_.configure(tenant(ctx), *param(ctx, "key"), period, enabled, actor(ctx));
    if (!done) {
        return error(ctx, done.error());
    }
    return schedules(ctx);
}

namespace {

// {"dry_run": bool} of a run request; an empty body asks for a real run.
scim::Result<bool> dry_run_of(const RequestContext& ctx) {
    if (ctx.request.body().empty()) {
        return false;
    }
    auto body = admin::body_object(ctx);
    if (!body) {
        return body.error();
    }
    const json::value* d = body->if_contains("dry_run");
    if (d == nullptr) {
        return false;
    }
    if (!d->is_bool()) {
        return scim::Error::invalid_value("dry_run must be a boolean");
    }
    return d->as_bool();
}

}  // namespace

Response LifecycleAdminHandler::run_schedule(const RequestContext& ctx) const {
    const auto dry = dry_run_of(ctx);
    if (!dry) {
        return error(ctx, dry.error());
    }
    const bool dry_run = *dry;
    auto done = schedules_.request_run(tenant(ctx), *param(ctx, "key"), dry_run, actor(ctx));
    if (!done) {
        return error(ctx, done.error());
    }
    if (wake_scheduler_) {
        wake_scheduler_();
    }
    return ok(ctx, json::object{{"key", *param(ctx, "key")}, {"dry_run", dry_run}, {"requested", true}},
              http::status::accepted);
}

namespace {

bool resync_kind(const mappers::ScheduleEntry& e) {
    return e.kind == mappers::kDirectoryJob || e.kind == mappers::kReconcileJob;
}

}  // namespace

Response LifecycleAdminHandler::resync(const RequestContext& ctx) const {
    const auto dry = dry_run_of(ctx);
    if (!dry) {
        return error(ctx, dry.error());
    }
    const bool dry_run = *dry;
    json::array requested;
    for (const mappers::ScheduleEntry& e : schedules_.jobs(tenant(ctx))) {
        if (!resync_kind(e) || !e.enabled) {
            continue;
        }
        if (auto done = schedules_.request_run(tenant(ctx), e.key, dry_run, actor(ctx)); done) {
            requested.emplace_back(e.key);
        }
    }
    if (wake_scheduler_) {
        wake_scheduler_();
    }
    return ok(ctx, json::object{{"dry_run", dry_run}, {"requested", std::move(requested)}}, http::status::accepted);
}

Response LifecycleAdminHandler::resync_settings(const RequestContext& ctx) const {
    const auto period = schedules_.tenant_period(tenant(ctx));
    const double scale = lifecycle_.settings().time_scale;
    return ok(ctx, json::object{{"period_minutes", period ? json::value(static_cast<double>(period->count()) / 60000.0 / scale)
                                                          : json::value(nullptr)}});
}

Response LifecycleAdminHandler::configure_resync(const RequestContext& ctx) const {
    auto body = admin::body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    const json::value* p = body->if_contains("period_minutes");
    if (p == nullptr || !p->is_number() || p->to_number<double>() < 1 || p->to_number<double>() > 7 * 24 * 60) {
        return error(ctx, scim::Error::invalid_value("period_minutes must be a number from 1 to 10080"));
    }
    schedules_.configure_tenant(tenant(ctx),
                                std::chrono::milliseconds(static_cast<std::int64_t>(
                                    p->to_number<double>() * 60000.0 * lifecycle_.settings().time_scale)),
                                actor(ctx));
    return resync_settings(ctx);
}

Response LifecycleAdminHandler::resync_diff(const RequestContext& ctx) const {
    admin::QueryReader r(ctx);
    std::optional<std::string> dry;
    r.text("dry_run", dry, {"true", "false"});
    if (r.error()) {
        return error(ctx, *r.error());
    }
    json::array directories;
    json::array apps;
    json::array pending;
    for (const mappers::ScheduleEntry& e : schedules_.jobs(tenant(ctx))) {
        if (!resync_kind(e)) {
            continue;
        }
        // The latest finished run (of the asked kind); a run still going is named as pending.
        mappers::RunQuery q;
        q.key = e.key;
        q.limit = 20;
        const mappers::RowPage page = schedules_.runs(tenant(ctx), q);
        for (const json::value& row : page.rows) {
            const json::object& run = row.as_object();
            if (run.at("state") == "running") {
                pending.emplace_back(e.key);
                continue;
            }
            if (dry && run.at("dry_run").as_bool() != (*dry == "true")) {
                continue;
            }
            (e.kind == mappers::kDirectoryJob ? directories : apps).push_back(run);
            break;
        }
    }
    json::object body = mappers::three_way_diff(directories, apps);
    body["running"] = std::move(pending);
    return ok(ctx, body);
}

namespace {

json::object directory_json(const mappers::DirectorySourceRow& d) {
    return json::object{{"id", d.id},
                        {"name", d.name},
                        {"kind", d.kind},
                        {"enabled", d.enabled},
                        {"schedule", "directory:" + d.id}};
}

}  // namespace

Response LifecycleAdminHandler::directories(const RequestContext& ctx) const {
    json::array rows;
    for (const mappers::DirectorySourceRow& d : directories_.list_sources(tenant(ctx))) {
        rows.push_back(directory_json(d));  // credentials are never shown
    }
    return ok(ctx, json::object{{"directories", std::move(rows)}});
}

Response LifecycleAdminHandler::create_directory(const RequestContext& ctx) const {
    auto body = admin::body_object(ctx);
    if (!body) {
        return error(ctx, body.error());
    }
    const json::value* name = body->if_contains("name");
    const json::value* config = body->if_contains("config");
    if (name == nullptr || !name->is_string() || name->as_string().empty() || name->as_string().size() > 200) {
        return error(ctx, scim::Error::invalid_value("name must be a string of 1 to 200 characters"));
    }
    if (config == nullptr || !config->is_object()) {
        return error(ctx, scim::Error::invalid_value("config must be an object: {\"kind\": \"google\" | \"graph\" | "
                                                     "\"scim\", ...}"));
    }
    if (auto checked = mappers::make_directory_source(config->as_object()); !checked) {
        return error(ctx, checked.error());
    }
    auto made = directories_.create_source(tenant(ctx), std::string(name->as_string()), config->as_object(), actor(ctx));
    if (!made) {
        return error(ctx, made.error());
    }
    if (wake_scheduler_) {
        wake_scheduler_();
    }
    return ok(ctx, directory_json(*made), http::status::created);
}

Response LifecycleAdminHandler::delete_directory(const RequestContext& ctx) const {
    auto done = directories_.delete_source(tenant(ctx), *param(ctx, "id"), actor(ctx));
    if (!done) {
        return error(ctx, done.error());
    }
    return render_text(http::status::no_content, "", admin::kJson, ctx.request.version(), ctx.request.keep_alive());
}

Response LifecycleAdminHandler::access_codes_csv(const RequestContext& ctx) const {
    return csv(ctx, lifecycle_.access_codes_csv(tenant(ctx), *param(ctx, "id")), "access-codes.csv");
}

}  // namespace scimbridge::server
