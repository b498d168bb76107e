#include "server/handlers/claim_handler.hpp"

#include "mappers/webhook_signature.hpp"
#include "server/query.hpp"
#include "server/responses.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace scimbridge::server {

namespace json = boost::json;
using scim::Error;

namespace {

constexpr std::size_t kMaxCallbackBody = 16 * 1024;

// Pages carry no third-party content and must not leak the token in a Referer.
Response page(const RequestContext& ctx, http::status status, const std::string& title, const std::string& body) {
    std::string html =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>" + html_escape(title) + "</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;"
        "line-height:1.5;color:#1a1a1a}button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}"
        "input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;letter-spacing:.1em}"
        "label{display:block;margin:.5rem 0}</style></head>"
        "<body><main>" + body + "</main></body></html>\n";
    Response res = render_text(status, std::move(html), "text/html; charset=utf-8", ctx.request.version(),
                               ctx.request.keep_alive());
    res.set("Referrer-Policy", "no-referrer");
    res.set("Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    return res;
}

// One page for every link or code that cannot be used: expired, used, revoked, blocked, unknown.
Response invalid(const RequestContext& ctx) {
    return page(ctx, http::status::not_found, "Link not valid",
                "<h1>This link is not valid</h1><p>The invitation may have expired, been used already or "
                "been withdrawn. Ask your administrator for a new invitation.</p>");
}

Response too_many(const RequestContext& ctx, std::chrono::seconds wait) {
    const auto minutes = std::max<std::int64_t>(1, (wait.count() + 59) / 60);
    Response res = page(ctx, http::status::too_many_requests, "Too many attempts",
                        "<h1>Too many attempts</h1><p>Too many links or codes that are not valid came from "
                        "your network. Try again in " + std::to_string(minutes) +
                            (minutes == 1 ? " minute" : " minutes") + ".</p>");
    res.set(http::field::retry_after, std::to_string(wait.count()));
    return res;
}

Response claimed(const RequestContext& ctx, const mappers::AccountOutcome& outcome) {
    const bool active = outcome.state == mappers::AccountState::kActive;
    std::string body = "<h1>Welcome to " + html_escape(outcome.app_name) + "</h1><p>";
    body += active ? "Your account is ready. You can sign in to " + html_escape(outcome.app_name) + " now."
                   : "You accepted the invitation. Your account will be ready once it is approved or after "
                     "your first sign-in.";
    body += "</p>";
    return page(ctx, http::status::ok, "Invitation accepted", body);
}

Response show_page(const RequestContext& ctx, const mappers::ClaimView& view) {
    const std::string app = html_escape(view.app_name);
    std::string body = "<h1>Join " + app + "</h1><p>" + html_escape(view.tenant_name) + " invited " +
                       html_escape(view.display_name) + " to " + app + ".</p>"
                       "<form method=\"post\"><button type=\"submit\">Accept the invitation</button></form>"
                       "<p><small>This link is personal and works once. It expires on " +
                       html_escape(view.expires_at) + ".</small></p>";
    return page(ctx, http::status::ok, "Join " + view.app_name, body);
}

const std::string* param(const RequestContext& ctx, const char* key) {
    const auto it = ctx.params.find(key);
    return it == ctx.params.end() ? nullptr : &it->second;
}

std::string header(const RequestContext& ctx, std::string_view name) {
    const auto it = ctx.request.find(name);
    return it == ctx.request.end() ? std::string() : std::string(it->value());
}

Response json_error(const RequestContext& ctx, const Error& e) {
    return render_error(e, ctx.request.version(), ctx.request.keep_alive());
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

template <class Attempt>
Response ClaimHandler::limited(const RequestContext& ctx, Attempt&& attempt) const {
    const std::string client = limiter_.client_of(ctx.peer, ctx.request);
    if (const auto wait = limiter_.wait(client, AttemptLimiter::Clock::now()); wait.count() > 0) {
        return too_many(ctx, wait);
    }
    std::optional<Response> answer = attempt();
    if (!answer) {
        limiter_.failed(client, AttemptLimiter::Clock::now());
        return invalid(ctx);
    }
    return std::move(*answer);
}

Response ClaimHandler::show(const RequestContext& ctx) const {
    return limited(ctx, [&]() -> std::optional<Response> {
        const auto view = lifecycle_.view(*param(ctx, "token"));
        if (!view) {
            return std::nullopt;
        }
        return show_page(ctx, *view);
    });
}

Response ClaimHandler::accept(const RequestContext& ctx) const {
    return limited(ctx, [&]() -> std::optional<Response> {
        const auto outcome = lifecycle_.claim(*param(ctx, "token"));
        if (!outcome) {
            return std::nullopt;
        }
        return claimed(ctx, *outcome);
    });
}

Response ClaimHandler::redeem_code(const RequestContext& ctx) const {
    return limited(ctx, [&]() -> std::optional<Response> {
        const auto form = parse_query(ctx.request.body());
        if (!form || !form->contains("code")) {
            return std::nullopt;
        }
        const auto outcome = lifecycle_.redeem(form->at("code"));
        if (!outcome) {
            return std::nullopt;
        }
        return claimed(ctx, *outcome);
    });
}

Response ClaimHandler::code_form(const RequestContext& ctx) const {
    return page(ctx, http::status::ok, "Enter your access code",
                "<h1>Enter your access code</h1><form method=\"post\"><label for=\"code\">Access code "
                "(16 letters)</label><input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" "
                "maxlength=\"40\" required><p><button type=\"submit\">Continue</button></p></form>");
}

Response ClaimHandler::app_callback(const RequestContext& ctx) const {
    const std::string& app_id = *param(ctx, "id");
    const auto app = lifecycle_.store().app_by_id(app_id);
    std::vector<std::string> secrets;
    if (app) {
        if (const json::value* wh = app->definition.if_contains("webhook"); wh != nullptr && wh->is_object()) {
            if (const json::value* s = wh->as_object().if_contains("secrets"); s != nullptr && s->is_array()) {
                for (const json::value& v : s->as_array()) {
                    if (v.is_string()) {
                        secrets.emplace_back(v.as_string());
                    }
                }
            }
        }
    }
    const std::string& body = ctx.request.body();
    if (secrets.empty() || body.size() > kMaxCallbackBody ||
        !mappers::verify_webhook(secrets, header(ctx, "webhook-id"), header(ctx, "webhook-timestamp"),
                                 header(ctx, "webhook-signature"), body, std::chrono::system_clock::now())) {
        return json_error(ctx, Error::unauthorized("the callback must be signed with the app's webhook secret "
                                                   "(Standard Webhooks: webhook-id, webhook-timestamp, "
                                                   "webhook-signature)"));
    }
    boost::system::error_code ec;
    const json::value parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
        return json_error(ctx, Error::invalid_syntax("the body must be a JSON object"));
    }
    const json::object& o = parsed.as_object();
    const json::value* type = o.if_contains("type");
    const json::value* user = o.if_contains("user");
    if (type == nullptr || !type->is_string() || type->as_string() != "account.first_login") {
        return json_error(ctx, Error::invalid_value("type must be \"account.first_login\""));
    }
    if (user == nullptr || !user->is_string() || user->as_string().empty()) {
        return json_error(ctx, Error::invalid_value("user must name the account: our user id or the app's "
                                                    "account id"));
    }
    const auto account = lifecycle_.store().find_account(app_id, std::string(user->as_string()));
    if (!account) {
        return json_error(ctx, Error::not_found("no account of this app matches user"));
    }
    const auto outcome = lifecycle_.act(*account, mappers::AdminAction::kFirstLogin, "app:" + app_id);
    if (!outcome) {
        return json_error(ctx, outcome.error());
    }
    return render_json(http::status::ok,
                       json::object{{"user", account->user_id},
                                    {"state", outcome->state ? mappers::to_string(*outcome->state) : "none"}},
                       ctx.request.version(), ctx.request.keep_alive(), "application/json");
}

}  // namespace scimbridge::server
