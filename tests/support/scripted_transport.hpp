#pragma once
// An HttpTransport for unit tests of outbound code (connectors, directory pulls, reconciliation):
// it records every request and answers from a script; an unscripted request is a connection
// error, so a test that forgets one fails visibly. No sockets.
//
//   ScriptedTransport t;
//   t.then_json(page1).then(status_reply(500));
//   ... run the code under test with t ...
//   CHECK(t.requests.size() == 2);

#include "mappers/http_transport.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scimbridge::tests {

// The fixed "now" of these tests: 2026-03-04T05:06:07Z.
inline const std::chrono::system_clock::time_point kScriptNow =
    std::chrono::sys_days{std::chrono::year{2026} / 3 / 4} + std::chrono::hours{5} + std::chrono::minutes{6} +
    std::chrono::seconds{7};
inline constexpr std::int64_t kScriptNowUnix = 1772600767;

class ScriptedTransport final : public mappers::HttpTransport {
public:
    std::vector<mappers::HttpRequest> requests;
    std::deque<mappers::HttpResponse> responses;

    ScriptedTransport& then(mappers::HttpResponse r) {
        responses.push_back(std::move(r));
        return *this;
    }
    ScriptedTransport& then_json(const boost::json::value& body, int status = 200) {
        mappers::HttpResponse r;
        r.status = status;
        r.body = boost::json::serialize(body);
        r.headers["content-type"] = "application/json";
        return then(std::move(r));
    }

    mappers::HttpResponse send(const mappers::HttpRequest& request) override {
        requests.push_back(request);
        if (responses.empty()) {
            mappers::HttpResponse none;
            none.outcome = mappers::HttpResponse::Outcome::kConnectError;
            none.error = "no scripted response";
            return none;
        }
        mappers::HttpResponse r = std::move(responses.front());
        responses.pop_front();
        return r;
    }

    // Requests sent with this method.
    std::size_t count(std::string_view method) const {
        return static_cast<std::size_t>(std::count_if(
            requests.begin(), requests.end(), [&](const mappers::HttpRequest& r) { return r.method == method; }));
    }
    // The JSON body of request i.
    boost::json::object body(std::size_t i) const { return boost::json::parse(requests.at(i).body).as_object(); }
};

// An answer with this status, body and headers.
inline mappers::HttpResponse status_reply(int status, std::string body = {},
                                          std::map<std::string, std::string> headers = {}) {
    mappers::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
}

}  // namespace scimbridge::tests
