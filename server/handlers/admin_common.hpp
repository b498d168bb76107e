#pragma once
// What every admin API handler shares: rendering (JSON bodies, SCIM errors through the one
// renderer), the caller (tenant, audit actor), the JSON body and path parameters.

#include "scim/result.hpp"
#include "server/responses.hpp"
#include "server/router.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <string>

namespace scimbridge::server::admin {

inline constexpr const char* kJson = "application/json";

inline Response error(const RequestContext& ctx, const scim::Error& e) {
    return render_error(e, ctx.request.version(), ctx.request.keep_alive());
}

inline Response ok(const RequestContext& ctx, const boost::json::value& body,
                   http::status status = http::status::ok) {
    return render_json(status, body, ctx.request.version(), ctx.request.keep_alive(), kJson);
}

inline std::string actor(const RequestContext& ctx) { return "admin:" + ctx.principal->token_id; }
inline const std::string& tenant(const RequestContext& ctx) { return ctx.principal->tenant_id; }

inline scim::Result<boost::json::object> body_object(const RequestContext& ctx) {
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(ctx.request.body(), ec);
    if (ec) {
        return scim::Error::invalid_syntax("the body is not valid JSON: " + ec.message());
    }
    if (!body.is_object()) {
        return scim::Error::invalid_syntax("the body must be a JSON object");
    }
    return std::move(body.as_object());
}

inline const std::string* param(const RequestContext& ctx, const char* key) {
    const auto it = ctx.params.find(key);
    return it == ctx.params.end() ? nullptr : &it->second;
}

}  // namespace scimbridge::server::admin
