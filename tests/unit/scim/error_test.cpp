#include "scim/error.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

using scimbridge::scim::Error;
using scimbridge::scim::ScimType;

TEST_SUITE("scim.error") {
TEST_CASE("RFC 7644 3.12 each named error fixes its status and scimType") {
    struct Case {
        Error error;
        int status;
        const char* scim_type;
    };
    const Case cases[] = {
        {Error::invalid_syntax("x"), 400, "invalidSyntax"},
        {Error::invalid_value("x"), 400, "invalidValue"},
        {Error::invalid_filter("x"), 400, "invalidFilter"},
        {Error::too_many("x"), 400, "tooMany"},
        {Error::mutability("x"), 400, "mutability"},
        {Error::invalid_path("x"), 400, "invalidPath"},
        {Error::no_target("x"), 400, "noTarget"},
        {Error::bad_request("x"), 400, ""},
        {Error::unauthorized("x"), 401, ""},
        {Error::forbidden("x"), 403, ""},
        {Error::not_found("x"), 404, ""},
        {Error::method_not_allowed("x"), 405, ""},
        {Error::uniqueness("x"), 409, "uniqueness"},
        {Error::precondition_failed("x"), 412, ""},
        {Error::payload_too_large("x"), 413, ""},
        {Error::unsupported_media_type("x"), 415, ""},
        {Error::header_too_large("x"), 431, ""},
        {Error::internal("rid"), 500, ""},
        {Error::unavailable("x"), 503, ""},
    };
    for (const Case& c : cases) {
        CAPTURE(c.status);
        CAPTURE(c.scim_type);
        CHECK(c.error.status == c.status);
        CHECK(to_string(c.error.scim_type) == c.scim_type);
    }
}

TEST_CASE("RFC 7644 3.12 invalidVers is spelled as in Table 9") {
    CHECK(to_string(ScimType::kInvalidVers) == "invalidVers");
    CHECK(to_string(ScimType::kSensitive) == "sensitive");
}

TEST_CASE("RFC 7644 3.12 error body: schemas, status as a string, scimType, detail") {
    const auto body = to_json(Error::uniqueness("userName is already in use"));
    CHECK(boost::json::serialize(body) ==
          R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409",)"
          R"("scimType":"uniqueness","detail":"userName is already in use"})");
}

TEST_CASE("an error without scimType omits the member") {
    const auto body = to_json(Error::not_found("no such user"));
    CHECK(body.if_contains("scimType") == nullptr);
    CHECK(body.at("status") == "404");
}

TEST_CASE("a 500 carries the request id and nothing internal") {
    const auto body = to_json(Error::internal("abc123"));
    CHECK(body.at("detail") == "internal error; request id abc123");
}
}
