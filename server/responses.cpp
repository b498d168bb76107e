#include "server/responses.hpp"

#include <boost/json/serialize.hpp>

namespace scimbridge::server {

Response render_text(http::status status, std::string body, const char* content_type,
                     unsigned version, bool keep_alive) {
    Response res{status, version};
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

Response render_json(http::status status, const boost::json::value& body, unsigned version,
                     bool keep_alive, const char* content_type) {
    return render_text(status, boost::json::serialize(body), content_type, version, keep_alive);
}

Response render_json(http::status status, const boost::json::object& body, unsigned version,
                     bool keep_alive, const char* content_type) {
    return render_text(status, boost::json::serialize(body), content_type, version, keep_alive);
}

Response render_error(const scim::Error& error, unsigned version, bool keep_alive) {
    Response res = render_json(static_cast<http::status>(error.status), scim::to_json(error),
                               version, keep_alive);
    if (error.status == 401) {
        res.set(http::field::www_authenticate, "Bearer realm=\"scim-bridge\"");
    }
    return res;
}

}  // namespace scimbridge::server
