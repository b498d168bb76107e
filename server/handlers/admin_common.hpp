#pragma once
// What every admin API handler shares: rendering (JSON bodies, SCIM errors through the one
// renderer), the caller (tenant, audit actor), the JSON body, path parameters, query strings of
// list endpoints and their pages.

#include "db/pg_resource_store.hpp"
#include "mappers/app_store.hpp"
#include "scim/result.hpp"
#include "server/query.hpp"
#include "server/responses.hpp"
#include "server/router.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
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

inline constexpr std::size_t kMaxPage = 1000;

// The query string of a list endpoint, read field by field into a query struct; the first bad
// parameter is kept as the error (400).
class QueryReader {
public:
    explicit QueryReader(const RequestContext& ctx) {
        auto parsed = parse_query(ctx.query);
        if (!parsed) {
            error_ = scim::Error::bad_request("malformed query string");
        } else {
            values_ = std::move(*parsed);
        }
    }
    const std::optional<scim::Error>& error() const { return error_; }

    void text(const std::string& key, std::optional<std::string>& out,
              const std::set<std::string>& allowed = {}) {
        out = get(key);
        if (out && !allowed.empty() && !allowed.contains(*out)) {
            std::string names;
            for (const std::string& a : allowed) {
                names += (names.empty() ? "" : ", ") + a;
            }
            fail(key + " must be one of " + names);
        }
    }
    void uuid(const std::string& key, std::optional<std::string>& out) {
        out = get(key);
        if (out && !db::is_uuid(*out)) {
            fail(key + " must be a UUID");
        }
    }
    void integer(const std::string& key, std::optional<std::int64_t>& out) {
        const auto v = get(key);
        if (!v) {
            return;
        }
        std::int64_t n = 0;
        const auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || ptr != v->data() + v->size() || n < 0) {
            fail(key + " must be a non-negative integer");
            return;
        }
        out = n;
    }
    // count: 1..kMaxPage, 100 when absent.
    void count(std::size_t& out) {
        std::optional<std::int64_t> n;
        integer("count", n);
        out = n ? static_cast<std::size_t>(std::clamp<std::int64_t>(*n, 1, kMaxPage)) : 100;
    }

private:
    std::optional<std::string> get(const std::string& key) const {
        const auto it = values_.find(key);
        if (it == values_.end() || it->second.empty()) {
            return std::nullopt;
        }
        return it->second;
    }
    void fail(std::string detail) {
        if (!error_) {
            error_ = scim::Error::bad_request(std::move(detail));
        }
    }
    std::map<std::string, std::string> values_;
    std::optional<scim::Error> error_;
};

// {"items": rows, "next": cursor (when there are more)}.
inline boost::json::object page_json(const mappers::RowPage& page) {
    boost::json::object o{{"items", page.rows}};
    if (page.next) {
        o["next"] = *page.next;
    }
    return o;
}

}  // namespace scimbridge::server::admin
