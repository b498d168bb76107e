#include "mappers/webhook_signature.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity

namespace {

// The Standard Webhooks test vector (standard-webhooks/standard-webhooks,
// libraries/python/tests/test_webhooks.py, test_sign_function; the same in every reference
// library). Reproducing it is what proves a receiver's library will accept what we send.
constexpr const char* kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* kSpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kSpecTimestamp = 1614265330;
constexpr const char* kSpecBody = R"({"test": 2432232314})";
constexpr const char* kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

}  // namespace

TEST_SUITE("mappers.webhook_signature") {
TEST_CASE("Standard Webhooks v1: the published test vector signs exactly") {
    CHECK(sign_webhook(kSpecSecret, kSpecId, kSpecTimestamp, kSpecBody) == kSpecSignature);
    // The reference libraries read a secret without the whsec_ prefix as the same key.
    CHECK(sign_webhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", kSpecId, kSpecTimestamp, kSpecBody) ==
          kSpecSignature);
}

TEST_CASE("Standard Webhooks v1: the published test vector verifies") {
    CHECK(verify_webhook({kSpecSecret}, kSpecId, "1614265330", kSpecSignature, kSpecBody,
                         at(kSpecTimestamp)));
    // Among signatures of other schemes and other keys, as the spec's multi-signature header.
    const std::string header = std::string("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ") +
                               "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + kSpecSignature;
    CHECK(verify_webhook({kSpecSecret}, kSpecId, "1614265330", header, kSpecBody,
                         at(kSpecTimestamp)));
    // One bit off in the last character.
    CHECK_FALSE(verify_webhook({kSpecSecret}, kSpecId, "1614265330",
                               "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", kSpecBody,
                               at(kSpecTimestamp)));
}

TEST_CASE("generated secrets are whsec_ + base64 of 32 random bytes, and differ") {
    std::set<std::string> seen;
    for (int i = 0; i < 20; ++i) {
        const std::string secret = generate_webhook_secret();
        CHECK(secret.rfind("whsec_", 0) == 0);
        const auto key = decode_webhook_secret(secret);
        REQUIRE(key.has_value());
        CHECK(key->size() == 32);
        seen.insert(secret);
    }
    CHECK(seen.size() == 20);
}

TEST_CASE("a signature round-trips through the header and the verifier") {
    const std::string secret = generate_webhook_secret();
    const std::string body = R"({"type":"user.created","resource_id":"u1","version":3})";
    const std::string header = signature_header({secret}, "evt_1", 1700000000, body);
    CHECK(header.rfind("v1,", 0) == 0);
    CHECK(header.find(' ') == std::string::npos);
    CHECK(verify_webhook({secret}, "evt_1", "1700000000", header, body, at(1700000000)));
}

TEST_CASE("rotation: the header carries one signature per secret and either secret verifies") {
    const std::string old_secret = generate_webhook_secret();
    const std::string new_secret = generate_webhook_secret();
    const std::string body = "{}";
    const std::string header =
        signature_header({old_secret, new_secret}, "evt_2", 1700000000, body);
    CHECK(header.find(' ') != std::string::npos);
    // A receiver still on the old secret, one already on the new one, and one holding both.
    CHECK(verify_webhook({old_secret}, "evt_2", "1700000000", header, body, at(1700000000)));
    CHECK(verify_webhook({new_secret}, "evt_2", "1700000000", header, body, at(1700000000)));
    CHECK(verify_webhook({new_secret, old_secret}, "evt_2", "1700000000", header, body,
                         at(1700000000)));
    // A receiver on a third secret verifies nothing.
    CHECK_FALSE(verify_webhook({generate_webhook_secret()}, "evt_2", "1700000000", header, body,
                               at(1700000000)));
    // The sender signing with the new secret only: the old-secret receiver refuses it.
    const std::string only_new = signature_header({new_secret}, "evt_2", 1700000000, body);
    CHECK_FALSE(verify_webhook({old_secret}, "evt_2", "1700000000", only_new, body,
                               at(1700000000)));
}

TEST_CASE("tampering with the body, the id or the timestamp breaks the signature") {
    const std::string secret = generate_webhook_secret();
    const std::string body = R"({"version":1})";
    const std::string header = signature_header({secret}, "evt_3", 1700000000, body);
    const auto now = at(1700000000);
    CHECK(verify_webhook({secret}, "evt_3", "1700000000", header, body, now));
    CHECK_FALSE(verify_webhook({secret}, "evt_3", "1700000000", header, R"({"version":2})", now));
    CHECK_FALSE(verify_webhook({secret}, "evt_3", "1700000000", header, body + " ", now));
    CHECK_FALSE(verify_webhook({secret}, "evt_4", "1700000000", header, body, now));
    CHECK_FALSE(verify_webhook({secret}, "evt_3", "1700000001", header, body, now));
    // The id/timestamp delimiter is part of what is signed: shifting a character across it fails.
    CHECK_FALSE(verify_webhook({secret}, "evt_31", "700000000", header, body, now));
}

TEST_CASE("the timestamp must be within the tolerance either way, and a plain integer") {
    const std::string secret = generate_webhook_secret();
    const std::string header = signature_header({secret}, "evt_5", 1700000000, "{}");
    const auto verify_at = [&](std::int64_t now, std::chrono::seconds tolerance) {
        return verify_webhook({secret}, "evt_5", "1700000000", header, "{}", at(now), tolerance);
    };
    CHECK(verify_at(1700000000 + 300, std::chrono::seconds(300)));
    CHECK(verify_at(1700000000 - 300, std::chrono::seconds(300)));
    CHECK_FALSE(verify_at(1700000000 + 301, std::chrono::seconds(300)));  // replayed later
    CHECK_FALSE(verify_at(1700000000 - 301, std::chrono::seconds(300)));  // from the future
    CHECK(verify_at(1700000000 + 3600, std::chrono::seconds(3600)));
    // Default tolerance: five minutes.
    CHECK(verify_webhook({secret}, "evt_5", "1700000000", header, "{}", at(1700000000 + 299)));
    CHECK_FALSE(
        verify_webhook({secret}, "evt_5", "1700000000", header, "{}", at(1700000000 + 600)));

    for (const char* bad : {"", "hello", "1700000000.5", "-1700000000", " 1700000000",
                            "1700000000 ", "+1700000000", "99999999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(verify_webhook({secret}, "evt_5", bad, header, "{}", at(1700000000)));
    }
}

TEST_CASE("malformed signature headers verify nothing") {
    const std::string secret = generate_webhook_secret();
    const std::string good = signature_header({secret}, "evt_6", 1700000000, "{}");
    const std::string sig = good.substr(3);
    for (const std::string& header :
         {std::string(), std::string(" "), sig, "v2," + sig, "v1" + sig, "V1," + sig,
          "v1, " + sig, good + "x", good.substr(0, good.size() - 1), std::string("v1,")}) {
        CAPTURE(header);
        CHECK_FALSE(verify_webhook({secret}, "evt_6", "1700000000", header, "{}",
                                   at(1700000000)));
    }
    // Extra spaces between entries are tolerated.
    CHECK(verify_webhook({secret}, "evt_6", "1700000000", "  v1,AAAA  " + good + " ", "{}",
                         at(1700000000)));
    // An empty id is never valid.
    CHECK_FALSE(verify_webhook({secret}, "", "1700000000", good, "{}", at(1700000000)));
}

TEST_CASE("malformed secrets are rejected") {
    CHECK(decode_webhook_secret(kSpecSecret).has_value());
    CHECK(decode_webhook_secret(kSpecSecret)->size() == 24);
    // 16 and 64 bytes are the bounds.
    CHECK(decode_webhook_secret("whsec_" + std::string(22, 'A') + "==").has_value());   // 16
    CHECK_FALSE(decode_webhook_secret("whsec_" + std::string(20, 'A')).has_value());   // 15
    CHECK(decode_webhook_secret("whsec_" + std::string(86, 'A') + "==").has_value());   // 64
    CHECK_FALSE(decode_webhook_secret("whsec_" + std::string(88, 'A')).has_value());   // 66
    for (const std::string& bad :
         {std::string(), std::string("whsec_"), std::string("whsec_not base64 at all!!"),
          std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"),  // truncated: stray low bits
          std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw="),  // padding past a quantum
          std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w"),   // base64url alphabet
          std::string("whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw"),  // whitespace
          std::string("whsec_") + std::string(22, 'A') + "B=="}) {  // stray low bits
        CAPTURE(bad);
        CHECK_FALSE(decode_webhook_secret(bad).has_value());
    }
    // Signing needs a valid secret; verifying ignores an invalid one among valid ones.
    CHECK_THROWS_AS(sign_webhook("whsec_", "id", 1, "{}"), std::invalid_argument);
    const std::string header = signature_header({kSpecSecret}, kSpecId, kSpecTimestamp, kSpecBody);
    CHECK(header == kSpecSignature);
    CHECK(verify_webhook({"whsec_???", kSpecSecret}, kSpecId, "1614265330", header, kSpecBody,
                         at(kSpecTimestamp)));
    CHECK_FALSE(verify_webhook({"whsec_???"}, kSpecId, "1614265330", header, kSpecBody,
                               at(kSpecTimestamp)));
    CHECK_FALSE(verify_webhook({}, kSpecId, "1614265330", header, kSpecBody, at(kSpecTimestamp)));
}
}
