#include "server/metrics.hpp"

#include <doctest/doctest.h>

using scimbridge::server::Metrics;

TEST_SUITE("server.metrics") {
TEST_CASE("Prometheus text: counters, cumulative histogram buckets, pool gauges") {
    Metrics m;
    m.record_request("/healthz", "GET", 200, std::chrono::microseconds(500));
    m.record_request("/healthz", "GET", 200, std::chrono::milliseconds(30));
    m.record_request("/healthz", "GET", 503, std::chrono::seconds(20));
    std::size_t in_use = 3;
    m.set_pool_gauges([&in_use] { return in_use; }, 8);
    const std::string text = m.render();

    CHECK(text.find("# TYPE scim_bridge_http_requests_total counter") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_requests_total{route="/healthz",method="GET",status="200"} 2)") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_requests_total{route="/healthz",method="GET",status="503"} 1)") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_request_duration_seconds_bucket{route="/healthz",le="0.001"} 1)") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_request_duration_seconds_bucket{route="/healthz",le="0.05"} 2)") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_request_duration_seconds_bucket{route="/healthz",le="10"} 2)") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 3)") != std::string::npos);
    CHECK(text.find(R"(scim_bridge_http_request_duration_seconds_count{route="/healthz"} 3)") != std::string::npos);
    CHECK(text.find("scim_bridge_db_pool_in_use 3\n") != std::string::npos);
    CHECK(text.find("scim_bridge_db_pool_size 8\n") != std::string::npos);
    in_use = 5;
    CHECK(m.render().find("scim_bridge_db_pool_in_use 5\n") != std::string::npos);
}

TEST_CASE("label values are escaped") {
    Metrics m;
    m.record_request("/a\"b\\c", "GET", 200, std::chrono::milliseconds(1));
    CHECK(m.render().find(R"(route="/a\"b\\c")") != std::string::npos);
}
}
