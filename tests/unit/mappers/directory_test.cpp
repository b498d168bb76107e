// Directory pulls over a scripted transport (Google, Graph, SCIM sources; their limits and
// configuration) and the pure sync plan.

#include "tests/support/scripted_transport.hpp"
#include "mappers/directory.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

using namespace scimbridge::mappers;  // NOLINT(google-build-using-namespace): test brevity
namespace json = boost::json;
using std::chrono::seconds;

using scimbridge::tests::ScriptedTransport;
using scimbridge::tests::status_reply;

namespace {

constexpr std::string_view kEnterprise =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const auto kNow = scimbridge::tests::kScriptNow;
constexpr std::int64_t kNowUnix = scimbridge::tests::kScriptNowUnix;

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(
                static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else if (s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::map<std::string, std::string> form_fields(std::string_view body) {
    std::map<std::string, std::string> out;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        const auto eq = pair.find('=');
        out[percent_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    }
    return out;
}

std::string base64url_decode(std::string_view in) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : in) {
        const auto at = kAlphabet.find(c);
        REQUIRE(at != std::string_view::npos);
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(at);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xffU));
        }
    }
    return out;
}

// ---- RSA keys (EVP_PKEY API) --------------------------------------------------------------------

struct KeyPair {
    std::string private_pem;
    std::string public_pem;
};

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long size = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
    return std::string(data, static_cast<std::size_t>(size));
}

KeyPair generate_key() {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr), &EVP_PKEY_CTX_free);
    REQUIRE(ctx);
    REQUIRE(EVP_PKEY_keygen_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) == 1);
    EVP_PKEY* raw = nullptr;
    REQUIRE(EVP_PKEY_keygen(ctx.get(), &raw) == 1);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, &EVP_PKEY_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
    REQUIRE(PEM_write_bio_PrivateKey(
                priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    REQUIRE(PEM_write_bio_PUBKEY(pub.get(), key.get()) == 1);
    return {bio_text(priv.get()), bio_text(pub.get())};
}

const KeyPair& test_key() {
    static const KeyPair key = generate_key();  // 2048-bit generation is slow: once per run
    return key;
}

bool verify_rs256(const std::string& public_pem, std::string_view input, std::string_view sig) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())), &BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    REQUIRE(key);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1);
    return EVP_DigestVerify(ctx.get(),
                            reinterpret_cast<const unsigned char*>(sig.data()),
                            sig.size(),
                            reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

// ---- Sources ----------------------------------------------------------------------------------

std::unique_ptr<DirectorySource> source(const json::object& config, WallClock clock = {}) {
    if (!clock) {
        clock = [] { return kNow; };
    }
    auto made = make_directory_source(config, std::move(clock));
    REQUIRE_MESSAGE(made.has_value(), (made.has_value() ? "" : made.error().detail));
    return std::move(*made);
}

DirectorySnapshot pulled(DirectorySource& s, ScriptedTransport& t, std::string_view state = {}) {
    auto r = s.pull(t, state);
    REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : r.error().detail));
    return std::move(*r);
}

scimbridge::scim::Error pull_error(DirectorySource& s,
                                   ScriptedTransport& t,
                                   std::string_view state = {}) {
    auto r = s.pull(t, state);
    REQUIRE_FALSE(r.has_value());
    return r.error();
}

json::object google_config() {
    return json::object{{"kind", "google"},
                        {"service_account",
                         json::object{{"type", "service_account"},
                                      {"client_email", "bridge@acme-sync.iam.gserviceaccount.com"},
                                      {"private_key_id", "kid-1"},
                                      {"private_key", test_key().private_pem},
                                      {"token_uri", "https://oauth.example.test/token"}}},
                        {"subject", "admin@acme.test"},
                        {"base_url", "https://admin.example.test/"}};
}

json::object google_token(std::string token = "ya29.first", int expires_in = 3600) {
    return json::object{
        {"access_token", std::move(token)}, {"expires_in", expires_in}, {"token_type", "Bearer"}};
}

json::object google_page(std::string_view key, json::array items, std::string next = {}) {
    json::object page{{"kind", "admin#directory"}, {key, std::move(items)}};
    if (!next.empty()) {
        page["nextPageToken"] = next;
    }
    return page;
}

json::object google_user(std::string id, std::string email) {
    return json::object{
        {"id", std::move(id)},
        {"primaryEmail", std::move(email)},
        {"name",
         json::object{{"givenName", "Ann"}, {"familyName", "Lee"}, {"fullName", "Ann Lee"}}},
        {"suspended", false},
        {"archived", false}};
}

json::object graph_config() {
    return json::object{{"kind", "graph"},
                        {"tenant_id", "contoso.onmicrosoft.com"},
                        {"client_id", "11111111-2222-3333-4444-555555555555"},
                        {"client_secret", "s3cr3t-VALUE~abc"},
                        {"login_url", "https://login.example.test"},
                        {"graph_url", "https://graph.example.test"}};
}

json::object graph_token() {
    return json::object{
        {"token_type", "Bearer"}, {"expires_in", 3599}, {"access_token", "eyJ.graph"}};
}

json::object graph_page(json::array value, std::string next, std::string delta) {
    json::object page{{"value", std::move(value)}};
    if (!next.empty()) {
        page["@odata.nextLink"] = next;
    }
    if (!delta.empty()) {
        page["@odata.deltaLink"] = delta;
    }
    return page;
}

json::object graph_user(std::string id, std::string upn, bool enabled = true) {
    return json::object{{"id", std::move(id)},
                        {"userPrincipalName", upn},
                        {"givenName", "Ann"},
                        {"surname", "Lee"},
                        {"displayName", "Ann Lee"},
                        {"mail", upn},
                        {"accountEnabled", enabled},
                        {"jobTitle", "Engineer"},
                        {"department", "R&D"},
                        {"employeeId", "E-1"},
                        {"mobilePhone", "+1 555 0100"},
                        {"businessPhones", json::array{"+1 555 0199"}}};
}

json::object graph_member(std::string_view type, std::string id, bool removed = false) {
    json::object m{{"@odata.type", std::string("#microsoft.graph.") + std::string(type)},
                   {"id", std::move(id)}};
    if (removed) {
        m["@removed"] = json::object{{"reason", "deleted"}};
    }
    return m;
}

const std::string kUsersDelta = "https://graph.example.test/v1.0/users/delta?$deltatoken=U1";
const std::string kGroupsDelta = "https://graph.example.test/v1.0/groups/delta?$deltatoken=G1";

std::string graph_state() {
    return json::serialize(json::object{{"users", kUsersDelta}, {"groups", kGroupsDelta}});
}

json::object scim_config(int page_size) {
    return json::object{{"kind", "scim"},
                        {"base_url", "https://idp.example.test/scim/v2/"},
                        {"bearer_token", "scim-token-123"},
                        {"page_size", page_size}};
}

json::object scim_list(json::array resources, std::optional<std::size_t> total) {
    json::object page{
        {"schemas", json::array{"urn:ietf:params:scim:api:messages:2.0:ListResponse"}},
        {"Resources", resources}};
    if (total) {
        page["totalResults"] = *total;
    }
    return page;
}

json::object scim_user(std::string id) {
    return json::object{{"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User"}},
                        {"id", id},
                        {"externalId", "theirs-" + id},
                        {"userName", id + "@acme.test"},
                        {"password", "never-copied"},
                        {"active", true},
                        {"meta", json::object{{"resourceType", "User"}, {"version", "W/\"1\""}}}};
}

const DirectoryUser& user_by_id(const DirectorySnapshot& s, std::string_view id) {
    const auto it = std::find_if(s.users.begin(), s.users.end(), [&](const DirectoryUser& u) {
        return u.external_id == id;
    });
    REQUIRE(it != s.users.end());
    return *it;
}

const DirectoryGroup& group_by_id(const DirectorySnapshot& s, std::string_view id) {
    const auto it = std::find_if(s.groups.begin(), s.groups.end(), [&](const DirectoryGroup& g) {
        return g.external_id == id;
    });
    REQUIRE(it != s.groups.end());
    return *it;
}

using Ids = std::vector<std::string>;

CanonicalEntry entry(std::string id, std::string ext, json::object resource) {
    return CanonicalEntry{std::move(id), std::move(ext), 1, std::move(resource)};
}

DirectoryUser pulled_user(std::string ext, std::string title) {
    json::object r{
        {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User", kEnterprise}},
        {"externalId", ext},
        {"userName", ext + "@acme.test"},
        {"name", json::object{{"givenName", "Ann"}, {"familyName", "Lee"}}},
        {"active", true},
        {"emails",
         json::array{
             json::object{{"value", ext + "@acme.test"}, {"type", "work"}, {"primary", true}}}},
        {"title", title.empty() ? json::value(nullptr) : json::value(title)},
        {kEnterprise, json::object{{"department", "R&D"}, {"manager", nullptr}}}};
    return DirectoryUser{std::move(ext), std::move(r)};
}

// What the bridge holds for a user it created from pulled_user(ext, title), with attributes
// another path added (nickName, name.middleName, an email's display, a core schema list).
json::object held_user(const std::string& ext, const std::string& title) {
    json::object r{
        {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User", kEnterprise}},
        {"id", "ignored"},
        {"meta", json::object{{"version", "W/\"3\""}}},
        {"externalId", ext},
        {"userName", ext + "@acme.test"},
        {"nickName", "set elsewhere"},
        {"name", json::object{{"givenName", "Ann"}, {"familyName", "Lee"}, {"middleName", "Q"}}},
        {"active", true},
        {"emails",
         json::array{json::object{{"value", ext + "@acme.test"},
                                  {"type", "work"},
                                  {"primary", true},
                                  {"display", "Ann"}}}},
        {kEnterprise, json::object{{"department", "R&D"}, {"costCenter", "elsewhere"}}}};
    if (!title.empty()) {
        r["title"] = title;
    }
    return r;
}

}  // namespace

TEST_SUITE("mappers.directory") {
    // ---- Google -------------------------------------------------------------------------------

    TEST_CASE("google: the JWT assertion is RS256-signed with the service account key") {
        auto google = source(google_config());
        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(google_page("users", {}))
            .then_json(google_page("groups", {}));
        const DirectorySnapshot s = pulled(*google, t);
        CHECK(s.complete);
        CHECK(s.requests == 3);

        const HttpRequest& token = t.requests.at(0);
        CHECK(token.method == "POST");
        CHECK(token.url == "https://oauth.example.test/token");
        CHECK(token.headers.at("Content-Type") == "application/x-www-form-urlencoded");
        const auto form = form_fields(token.body);
        CHECK(form.at("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer");
        const std::string jwt = form.at("assertion");
        const auto dot1 = jwt.find('.');
        const auto dot2 = jwt.rfind('.');
        REQUIRE(dot1 != std::string::npos);
        REQUIRE(dot2 != dot1);

        const json::value header = json::parse(base64url_decode(jwt.substr(0, dot1)));
        CHECK(header == json::parse(R"({"alg":"RS256","typ":"JWT","kid":"kid-1"})"));
        const json::object claims =
            json::parse(base64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1))).as_object();
        CHECK(claims.at("iss") == "bridge@acme-sync.iam.gserviceaccount.com");
        CHECK(claims.at("sub") == "admin@acme.test");
        CHECK(claims.at("aud") == "https://oauth.example.test/token");
        CHECK(claims.at("scope") ==
              "https://www.googleapis.com/auth/admin.directory.user.readonly "
              "https://www.googleapis.com/auth/admin.directory.group.readonly "
              "https://www.googleapis.com/auth/admin.directory.group.member.readonly");
        CHECK(claims.at("iat") == kNowUnix);
        CHECK(claims.at("exp") == kNowUnix + 3600);

        const std::string signing_input = jwt.substr(0, dot2);
        const std::string signature = base64url_decode(jwt.substr(dot2 + 1));
        CHECK(signature.size() == 256);  // RSA-2048
        CHECK(verify_rs256(test_key().public_pem, signing_input, signature));
        CHECK_FALSE(verify_rs256(test_key().public_pem, signing_input + "x", signature));
        const KeyPair other = generate_key();
        CHECK_FALSE(verify_rs256(other.public_pem, signing_input, signature));

        // The API calls carry the token, the request limits are the directory ones.
        const HttpRequest& users = t.requests.at(1);
        CHECK(users.method == "GET");
        CHECK(users.url ==
              "https://admin.example.test/admin/directory/v1/users?customer=my_customer"
              "&maxResults=500&projection=full");
        CHECK(users.headers.at("Authorization") == "Bearer ya29.first");
        CHECK(users.deadline == std::chrono::milliseconds{30000});
        CHECK(users.max_body == 8 * 1024 * 1024);
        CHECK(t.requests.at(2).url ==
              "https://admin.example.test/admin/directory/v1/groups?customer=my_customer"
              "&maxResults=200");
    }

    TEST_CASE("google: users over three pages, groups with nested members, one token") {
        auto google = source(google_config());
        json::object boss = google_user("100", "boss@acme.test");
        json::object ann = google_user("101", "ann@acme.test");
        ann["suspended"] = true;
        ann["relations"] =
            json::array{json::object{{"value", "Boss@Acme.test"}, {"type", "manager"}}};
        ann["organizations"] = json::array{json::object{{"name", "Old Co"}, {"title", "Intern"}},
                                           json::object{{"name", "Acme"},
                                                        {"title", "Engineer"},
                                                        {"primary", true},
                                                        {"department", "R&D"},
                                                        {"costCenter", "CC-7"}}};
        ann["externalIds"] =
            json::array{json::object{{"value", "E-101"}, {"type", "organization"}}};
        ann["phones"] = json::array{
            json::object{{"value", "+1 555 0101"}, {"type", "work_mobile"}},
            json::object{{"value", "+1 555 0102"}, {"type", "work"}, {"primary", true}}};
        json::object bob = google_user("102", "bob@acme.test");
        bob["archived"] = true;
        bob["relations"] =
            json::array{json::object{{"value", "gone@elsewhere.test"}, {"type", "manager"}}};

        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(google_page("users", {boss}, "page-2"))
            .then_json(google_page("users", {ann}, "page-3"))
            .then_json(google_page("users", {bob}))
            .then_json(google_page(
                "groups",
                {json::object{{"id", "g1"}, {"name", "Engineering"}, {"email", "eng@acme.test"}},
                 json::object{{"id", "g2"}, {"email", "ops@acme.test"}}}))
            .then_json(google_page("members",
                                   {json::object{{"id", "101"}, {"type", "USER"}},
                                    json::object{{"id", "g2"}, {"type", "GROUP"}},
                                    json::object{{"id", "C0abc"}, {"type", "CUSTOMER"}}},
                                   "m-2"))
            .then_json(google_page("members", {json::object{{"id", "100"}, {"type", "USER"}}}))
            .then_json(google_page("members", {json::object{{"id", "102"}, {"type", "USER"}}}));
        const DirectorySnapshot s = pulled(*google, t);

        CHECK(t.count("POST") == 1);  // one token for the whole pull
        CHECK(s.requests == 8);
        CHECK(t.requests.size() == 8);
        for (std::size_t i = 1; i < t.requests.size(); ++i) {
            CHECK(t.requests[i].headers.at("Authorization") == "Bearer ya29.first");
        }
        CHECK(contains(t.requests[2].url, "&pageToken=page-2"));
        CHECK(contains(t.requests[3].url, "&pageToken=page-3"));
        CHECK(t.requests[5].url ==
              "https://admin.example.test/admin/directory/v1/groups/g1/members?maxResults=200");
        CHECK(contains(t.requests[6].url, "/groups/g1/members?maxResults=200&pageToken=m-2"));
        CHECK(contains(t.requests[7].url, "/groups/g2/members?"));

        REQUIRE(s.users.size() == 3);
        const json::object& a = user_by_id(s, "101").resource;
        CHECK(a.at("externalId") == "101");
        CHECK(a.at("userName") == "ann@acme.test");
        CHECK(a.at("active") == false);
        CHECK(a.at("emails") ==
              json::parse(R"([{"value":"ann@acme.test","type":"work","primary":true}])"));
        CHECK(a.at("name") ==
              json::parse(R"({"givenName":"Ann","familyName":"Lee","formatted":"Ann Lee"})"));
        CHECK(a.at("displayName") == "Ann Lee");
        CHECK(a.at("title") == "Engineer");
        CHECK(a.at("phoneNumbers") == json::parse(R"([{"value":"+1 555 0101","type":"mobile"},
            {"value":"+1 555 0102","type":"work","primary":true}])"));
        const json::object& ext = a.at(kEnterprise).as_object();
        CHECK(ext.at("department") == "R&D");
        CHECK(ext.at("costCenter") == "CC-7");
        CHECK(ext.at("organization") == "Acme");
        CHECK(ext.at("employeeNumber") == "E-101");
        CHECK(ext.at("manager") ==
              json::parse(R"({"value":"100"})"));  // resolved, case-insensitive
        CHECK(a.at("schemas").as_array().size() == 2);

        const json::object& b = user_by_id(s, "100").resource;
        CHECK(b.at("active") == true);
        CHECK(b.at("title").is_null());  // managed by the source, none: null
        CHECK(b.at(kEnterprise).at("manager").is_null());
        CHECK(b.at("phoneNumbers").is_null());

        const json::object& c = user_by_id(s, "102").resource;
        CHECK(c.at("active") == false);  // archived
        // A manager outside the pull cannot be named: not supplied rather than wrong.
        CHECK(c.at(kEnterprise).as_object().if_contains("manager") == nullptr);

        REQUIRE(s.groups.size() == 2);
        const DirectoryGroup& g1 = group_by_id(s, "g1");
        CHECK(g1.display_name == "Engineering");
        CHECK(g1.member_user_ids == Ids{"101", "100"});
        CHECK(g1.member_group_ids == Ids{"g2"});
        CHECK_FALSE(g1.members_are_delta);
        const DirectoryGroup& g2 = group_by_id(s, "g2");
        CHECK(g2.display_name == "ops@acme.test");  // no name: the email
        CHECK(g2.member_user_ids == Ids{"102"});
    }

    TEST_CASE("google: the access token is reused across pulls until near expiry") {
        auto now = kNow;
        auto google = source(google_config(), [&now] { return now; });
        const auto one_pull = [&](ScriptedTransport& t) {
            t.then_json(google_page("users", {})).then_json(google_page("groups", {}));
            return pulled(*google, t);
        };
        ScriptedTransport first;
        first.then_json(google_token("ya29.first"));
        one_pull(first);
        CHECK(first.count("POST") == 1);

        now += std::chrono::minutes{30};
        ScriptedTransport second;
        const DirectorySnapshot s2 = one_pull(second);
        CHECK(second.count("POST") == 0);
        CHECK(s2.requests == 2);
        CHECK(second.requests.at(0).headers.at("Authorization") == "Bearer ya29.first");

        now += std::chrono::minutes{27};  // 3 minutes left: renewed before use
        ScriptedTransport third;
        third.then_json(google_token("ya29.second"));
        one_pull(third);
        CHECK(third.count("POST") == 1);
        CHECK(third.requests.at(1).headers.at("Authorization") == "Bearer ya29.second");
    }

    TEST_CASE("google: a refused token is an authentication error without the assertion") {
        auto google = source(google_config());
        ScriptedTransport t;
        t.then_json(json::object{{"error", "invalid_grant"},
                                 {"error_description", "Invalid JWT Signature."}},
                    400);
        const auto e = pull_error(*google, t);
        CHECK(e.status == 502);
        CHECK(contains(e.detail, "authentication"));
        CHECK(contains(e.detail, "invalid_grant: Invalid JWT Signature."));
        CHECK_FALSE(contains(e.detail, "eyJ"));  // no JWT
        CHECK(t.requests.size() == 1);
    }

    TEST_CASE("google: a 403 from the API names the request and says authorization failed") {
        auto google = source(google_config());
        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(json::object{{"error",
                                     json::object{{"code", 403},
                                                  {"message",
                                                   "Not Authorized to access this resource/api"}}}},
                       403);
        const auto e = pull_error(*google, t);
        CHECK(e.status == 502);
        CHECK(contains(e.detail, "Google users page 1: HTTP 403"));
        CHECK(contains(e.detail, "authorization failed"));
        CHECK(contains(e.detail, "Not Authorized"));
    }

    // ---- Graph --------------------------------------------------------------------------------

    TEST_CASE("graph: client-credentials token, nextLink paging to the deltaLink") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        const std::string next = "https://graph.example.test/v1.0/users/delta?$skiptoken=S2";
        json::object carol = graph_user("u3", "carol@contoso.test", false);
        carol["jobTitle"] = nullptr;
        carol["businessPhones"] = json::array{};
        carol["mobilePhone"] = nullptr;
        t.then_json(graph_token())
            .then_json(graph_page(
                {graph_user("u1", "ann@contoso.test"), graph_user("u2", "bob@contoso.test")},
                next,
                ""))
            .then_json(graph_page({carol}, "", kUsersDelta))
            .then_json(graph_page(
                {json::object{{"id", "g1"},
                              {"displayName", "Sales"},
                              {"members@delta",
                               json::array{graph_member("user", "u1"),
                                           graph_member("group", "g2"),
                                           graph_member("device", "d1")}}},
                 json::object{
                     {"id", "g2"}, {"displayName", "EMEA"}, {"members@delta", json::array{}}},
                 // Graph may send one group again with more of its members.
                 json::object{{"id", "g1"},
                              {"members@delta", json::array{graph_member("user", "u2")}}}},
                "",
                kGroupsDelta));
        const DirectorySnapshot s = pulled(*graph, t);

        const HttpRequest& token = t.requests.at(0);
        CHECK(token.method == "POST");
        CHECK(token.url == "https://login.example.test/contoso.onmicrosoft.com/oauth2/v2.0/token");
        CHECK(token.headers.at("Content-Type") == "application/x-www-form-urlencoded");
        const auto form = form_fields(token.body);
        CHECK(form.at("client_id") == "11111111-2222-3333-4444-555555555555");
        CHECK(form.at("client_secret") == "s3cr3t-VALUE~abc");
        CHECK(form.at("scope") == "https://graph.microsoft.com/.default");
        CHECK(form.at("grant_type") == "client_credentials");
        CHECK(contains(token.body, "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"));

        CHECK(t.requests.at(1).url ==
              "https://graph.example.test/v1.0/users/delta?$select=id,userPrincipalName,givenName,"
              "surname,displayName,mail,accountEnabled,jobTitle,department,employeeId,mobilePhone,"
              "businessPhones");
        CHECK(t.requests.at(1).headers.at("Authorization") == "Bearer eyJ.graph");
        CHECK(t.requests.at(2).url == next);
        CHECK(t.requests.at(3).url ==
              "https://graph.example.test/v1.0/groups/delta?$select=id,displayName,members");
        CHECK(s.requests == 4);
        CHECK(s.complete);

        REQUIRE(s.users.size() == 3);
        const json::object& ann = user_by_id(s, "u1").resource;
        CHECK(ann.at("userName") == "ann@contoso.test");
        CHECK(ann.at("active") == true);
        CHECK(ann.at("name") ==
              json::parse(R"({"givenName":"Ann","familyName":"Lee","formatted":"Ann Lee"})"));
        CHECK(ann.at("emails") ==
              json::parse(R"([{"value":"ann@contoso.test","type":"work","primary":true}])"));
        CHECK(ann.at("title") == "Engineer");
        CHECK(ann.at("phoneNumbers") == json::parse(R"([{"value":"+1 555 0199","type":"work"},
            {"value":"+1 555 0100","type":"mobile"}])"));
        CHECK(ann.at(kEnterprise) == json::parse(R"({"department":"R&D","employeeNumber":"E-1"})"));
        const json::object& c = user_by_id(s, "u3").resource;
        CHECK(c.at("active") == false);
        CHECK(c.at("title").is_null());
        CHECK(c.at("phoneNumbers").is_null());

        REQUIRE(s.groups.size() == 2);
        const DirectoryGroup& g1 = group_by_id(s, "g1");
        CHECK(g1.display_name == "Sales");
        CHECK(g1.member_user_ids == Ids{"u1", "u2"});
        CHECK(g1.member_group_ids == Ids{"g2"});
        CHECK_FALSE(g1.members_are_delta);

        const json::value state = json::parse(s.next_state);
        CHECK(state.at("users") == json::value(kUsersDelta));
        CHECK(state.at("groups") == json::value(kGroupsDelta));
    }

    TEST_CASE("graph: a delta pull reports removed users, changed users and member changes") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        const std::string users_next = "https://graph.example.test/v1.0/users/delta?$deltatoken=U2";
        const std::string groups_next =
            "https://graph.example.test/v1.0/groups/delta?$deltatoken=G2";
        t.then_json(graph_token())
            .then_json(graph_page(
                {json::object{{"id", "u1"}, {"jobTitle", "Lead"}},
                 json::object{{"id", "u2"}, {"@removed", json::object{{"reason", "changed"}}}}},
                "",
                users_next))
            .then_json(graph_page(
                {json::object{{"id", "g1"},
                              {"members@delta",
                               json::array{graph_member("user", "u3"),
                                           graph_member("user", "u2", true),
                                           graph_member("group", "g2", true)}}},
                 json::object{{"id", "g9"}, {"@removed", json::object{{"reason", "deleted"}}}}},
                "",
                groups_next));
        const DirectorySnapshot s = pulled(*graph, t, graph_state());

        CHECK(t.requests.at(1).url == kUsersDelta);
        CHECK(t.requests.at(2).url == kGroupsDelta);
        CHECK_FALSE(s.complete);
        CHECK(s.removed_user_ids == Ids{"u2"});
        CHECK(s.removed_group_ids == Ids{"g9"});
        REQUIRE(s.users.size() == 1);
        // Only what the delta sent: the title, nothing it did not mention.
        CHECK(s.users[0].resource.at("title") == "Lead");
        CHECK(s.users[0].resource.if_contains("userName") == nullptr);
        CHECK(s.users[0].resource.if_contains("emails") == nullptr);
        REQUIRE(s.groups.size() == 1);
        const DirectoryGroup& g1 = s.groups[0];
        CHECK(g1.members_are_delta);
        CHECK(g1.display_name.empty());
        CHECK(g1.member_user_ids == Ids{"u3"});
        CHECK(g1.removed_member_user_ids == Ids{"u2"});
        CHECK(g1.removed_member_group_ids == Ids{"g2"});
        const json::value state = json::parse(s.next_state);
        CHECK(state.at("users") == json::value(users_next));
        CHECK(state.at("groups") == json::value(groups_next));
    }

    TEST_CASE("graph: 410 on a stale delta link falls back to a full pull") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        t.then_json(graph_token())
            .then_json(json::object{{"error",
                                     json::object{{"code", "syncStateNotFound"},
                                                  {"message", "resync required"}}}},
                       410)
            .then_json(graph_page({graph_user("u1", "ann@contoso.test")}, "", kUsersDelta))
            .then_json(graph_page({}, "", kGroupsDelta));
        const DirectorySnapshot s = pulled(*graph, t, graph_state());
        CHECK(s.complete);
        CHECK(s.users.size() == 1);
        CHECK(t.requests.at(1).url == kUsersDelta);
        CHECK(contains(t.requests.at(2).url, "/v1.0/users/delta?$select="));
        CHECK(contains(t.requests.at(3).url, "/v1.0/groups/delta?$select="));
        CHECK(s.requests == 4);
    }

    TEST_CASE("graph: a 401 on a page renews the token once and asks again") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        json::object renewed = graph_token();
        renewed["access_token"] = "eyJ.renewed";
        t.then_json(graph_token())
            .then_json(json::object{{"error", json::object{{"code", "InvalidAuthenticationToken"}}}}, 401)
            .then_json(renewed)
            .then_json(graph_page({graph_user("u1", "ann@contoso.test")}, "", kUsersDelta))
            .then_json(graph_page({}, "", kGroupsDelta));
        const DirectorySnapshot s = pulled(*graph, t);
        CHECK(s.complete);
        CHECK(s.users.size() == 1);
        CHECK(t.requests.at(1).headers.at("Authorization") == "Bearer eyJ.graph");
        CHECK(t.requests.at(2).method == "POST");  // the renewal
        CHECK(t.requests.at(3).url == t.requests.at(1).url);
        CHECK(t.requests.at(3).headers.at("Authorization") == "Bearer eyJ.renewed");
        CHECK(t.requests.at(4).headers.at("Authorization") == "Bearer eyJ.renewed");

        // A second 401 after the renewal is an authentication failure, not a loop.
        graph = source(graph_config());  // no token held
        ScriptedTransport t2;
        t2.then_json(graph_token())
            .then_json(json::object{{"error", "expired"}}, 401)
            .then_json(renewed)
            .then_json(json::object{{"error", "still expired"}}, 401);
        const auto e = pull_error(*graph, t2);
        CHECK(contains(e.detail, "authentication"));
        CHECK(t2.requests.size() == 4);
    }

    TEST_CASE("graph: 429 is an error that carries Retry-After") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        t.then_json(graph_token())
            .then(status_reply(429,
                               R"({"error":{"code":"TooManyRequests","message":"slow down"}})",
                               {{"retry-after", "30"}}));
        const auto e = pull_error(*graph, t);
        CHECK(e.status == 503);
        CHECK(contains(e.detail, "HTTP 429"));
        CHECK(contains(e.detail, "Retry-After 30 s"));
    }

    TEST_CASE("graph: errors never carry the client secret or the token") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        t.then_json(
            json::object{{"error", "invalid_client"},
                         {"error_description", "AADSTS7000215: bad secret s3cr3t-VALUE~abc"}},
            401);
        auto e = pull_error(*graph, t);
        CHECK(e.status == 502);
        CHECK(contains(e.detail, "authentication"));
        CHECK(contains(e.detail, "AADSTS7000215"));
        CHECK_FALSE(contains(e.detail, "s3cr3t-VALUE~abc"));

        ScriptedTransport t2;
        t2.then_json(graph_token()).then(status_reply(500, "upstream said eyJ.graph is odd"));
        e = pull_error(*graph, t2);
        CHECK(contains(e.detail, "HTTP 500"));
        CHECK_FALSE(contains(e.detail, "eyJ.graph"));
    }

    TEST_CASE("graph: a nextLink to another host is refused, so the token stays home") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        t.then_json(graph_token())
            .then_json(graph_page({}, "https://evil.example.test/v1.0/users/delta?x=1", ""));
        const auto e = pull_error(*graph, t);
        CHECK(contains(e.detail, "leaves graph_url"));
        CHECK(t.requests.size() == 2);
    }

    TEST_CASE("graph: an unreadable state is refused") {
        auto graph = source(graph_config());
        ScriptedTransport t;
        const auto e =
            pull_error(*graph, t, R"({"users":"https://elsewhere.test/x","groups":"y"})");
        CHECK(e.status == 400);
        CHECK(contains(e.detail, "state"));
        CHECK(t.requests.empty());
    }

    // ---- SCIM source --------------------------------------------------------------------------

    TEST_CASE("scim source: pages by startIndex until totalResults") {
        auto scim = source(scim_config(2));
        ScriptedTransport t;
        t.then_json(scim_list({scim_user("a"), scim_user("b")}, 5))
            .then_json(scim_list({scim_user("c"), scim_user("d")}, 5))
            .then_json(scim_list({scim_user("e")}, 5))
            .then_json(
                scim_list({json::object{{"id", "g1"},
                                        {"displayName", "Admins"},
                                        {"members",
                                         json::array{json::object{{"value", "a"}, {"type", "User"}},
                                                     json::object{{"value", "g2"}},
                                                     json::object{{"value", "b"}}}}},
                           json::object{{"id", "g2"}, {"displayName", "Nested"}}},
                          2));
        const DirectorySnapshot s = pulled(*scim, t);
        REQUIRE(t.requests.size() == 4);
        CHECK(t.requests[0].url ==
              "https://idp.example.test/scim/v2/Users?startIndex=1&count=2&sortBy=id");
        CHECK(t.requests[1].url ==
              "https://idp.example.test/scim/v2/Users?startIndex=3&count=2&sortBy=id");
        CHECK(t.requests[2].url ==
              "https://idp.example.test/scim/v2/Users?startIndex=5&count=2&sortBy=id");
        CHECK(t.requests[3].url ==
              "https://idp.example.test/scim/v2/Groups?startIndex=1&count=2&sortBy=id");
        CHECK(t.requests[0].headers.at("Authorization") == "Bearer scim-token-123");
        CHECK(s.complete);
        CHECK(s.requests == 4);
        REQUIRE(s.users.size() == 5);
        const json::object& a = user_by_id(s, "a").resource;
        CHECK(a.at("externalId") == "a");  // the remote id, not the remote's externalId
        CHECK(a.at("userName") == "a@acme.test");
        CHECK(a.if_contains("id") == nullptr);
        CHECK(a.if_contains("meta") == nullptr);
        CHECK(a.if_contains("password") == nullptr);
        const DirectoryGroup& g1 = group_by_id(s, "g1");
        CHECK(g1.display_name == "Admins");
        CHECK(g1.member_user_ids == Ids{"a", "b"});
        CHECK(g1.member_group_ids == Ids{"g2"});
    }

    TEST_CASE("scim source: a short page ends the listing") {
        auto scim = source(scim_config(3));
        ScriptedTransport t;
        t.then_json(scim_list({scim_user("a"), scim_user("b")}, std::nullopt))
            .then_json(scim_list({}, std::nullopt));
        const DirectorySnapshot s = pulled(*scim, t);
        CHECK(t.requests.size() == 2);  // Users (one short page), Groups (empty)
        CHECK(s.users.size() == 2);
        CHECK(s.complete);
    }

    TEST_CASE("scim source: fewer resources than totalResults is no complete snapshot") {
        auto scim = source(scim_config(2));
        ScriptedTransport t;
        t.then_json(scim_list({scim_user("a"), scim_user("b")}, 3))
            .then_json(scim_list({}, 3))
            .then_json(scim_list({}, 0));
        const DirectorySnapshot s = pulled(*scim, t);
        CHECK(s.users.size() == 2);
        CHECK_FALSE(s.complete);  // absence proves nothing: no deletions
    }

    TEST_CASE("scim source: a server that ignores startIndex is an error, not a loop") {
        auto scim = source(scim_config(2));
        ScriptedTransport t;
        t.then_json(scim_list({scim_user("a"), scim_user("b")}, 10))
            .then_json(scim_list({scim_user("a"), scim_user("b")}, 10));
        const auto e = pull_error(*scim, t);
        CHECK(e.status == 502);
        CHECK(contains(e.detail, "listed twice"));
    }

    // ---- Limits -------------------------------------------------------------------------------

    TEST_CASE("limits: the same page token twice is a paging loop") {
        auto google = source(google_config());
        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(google_page("users", {}, "again"))
            .then_json(google_page("users", {}, "again"));
        const auto e = pull_error(*google, t);
        CHECK(e.status == 502);
        CHECK(contains(e.detail, "same page token twice"));
        CHECK(t.requests.size() == 3);

        auto graph = source(graph_config());
        const std::string link = "https://graph.example.test/v1.0/users/delta?$skiptoken=X";
        ScriptedTransport g;
        g.then_json(graph_token())
            .then_json(graph_page({}, link, ""))
            .then_json(graph_page({}, link, ""));
        CHECK(contains(pull_error(*graph, g).detail, "same page token twice"));
    }

    TEST_CASE("limits: more users than max_users is an error") {
        json::object config = google_config();
        config["max_users"] = 2;
        auto google = source(config);
        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(google_page("users",
                                   {google_user("1", "a@acme.test"),
                                    google_user("2", "b@acme.test"),
                                    google_user("3", "c@acme.test")}));
        const auto e = pull_error(*google, t);
        CHECK(contains(e.detail, "more than 2 users (max_users)"));

        json::object scim = scim_config(10);
        scim["max_users"] = 1;
        auto s = source(scim);
        ScriptedTransport t2;
        t2.then_json(scim_list({scim_user("a"), scim_user("b")}, 2));
        CHECK(contains(pull_error(*s, t2).detail, "max_users"));
    }

    TEST_CASE("limits: more pages than max_pages is an error") {
        json::object config = google_config();
        config["max_pages"] = 2;
        auto google = source(config);
        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(google_page("users", {}, "p2"))
            .then_json(google_page("users", {}, "p3"));
        CHECK(contains(pull_error(*google, t).detail, "more than 2 pages"));
    }

    TEST_CASE("limits: a truncated page and a page that is not JSON are errors") {
        auto scim = source(scim_config(10));
        ScriptedTransport t;
        HttpResponse cut = status_reply(200, R"({"Resources":[)");
        cut.body_truncated = true;
        t.then(cut);
        CHECK(contains(pull_error(*scim, t).detail, "larger than 8 MiB"));
        ScriptedTransport t2;
        t2.then(status_reply(200, "<html>login</html>"));
        CHECK(contains(pull_error(*scim, t2).detail, "not JSON"));
        ScriptedTransport t3;
        HttpResponse down;
        down.outcome = HttpResponse::Outcome::kTimeout;
        down.error = "deadline passed";
        t3.then(down);
        CHECK(contains(pull_error(*scim, t3).detail, "timed out"));
    }

    // ---- Configuration ------------------------------------------------------------------------

    TEST_CASE("config: decoding errors are 400 invalidValue naming the field") {
        const auto error_of = [](const json::object& config) {
            auto made = make_directory_source(config);
            REQUIRE_FALSE(made.has_value());
            CHECK(made.error().status == 400);
            CHECK(made.error().scim_type == scimbridge::scim::ScimType::kInvalidValue);
            return made.error().detail;
        };
        const auto with = [](json::object config, std::string_view key, json::value v) {
            config[key] = std::move(v);
            return config;
        };
        const auto without = [](json::object config, std::string_view key) {
            config.erase(key);
            return config;
        };
        const auto account_with = [](std::string_view key, json::value v) {
            json::object config = google_config();
            config["service_account"].as_object()[key] = std::move(v);
            return config;
        };
        CHECK(contains(error_of(json::object{}), "kind is required"));
        CHECK(contains(error_of(json::object{{"kind", "ldap"}}), "kind must be"));
        CHECK(contains(error_of(without(google_config(), "service_account")), "service_account"));
        CHECK(contains(error_of(account_with("private_key", "not a key")),
                       "service_account.private_key"));
        CHECK(contains(error_of(account_with("client_email", "nobody")),
                       "service_account.client_email"));
        CHECK(
            contains(error_of(account_with("token_uri", "ftp://x")), "service_account.token_uri"));
        CHECK(contains(error_of(without(google_config(), "subject")), "subject is required"));
        CHECK(contains(error_of(with(google_config(), "base_url", "admin.googleapis.com")),
                       "base_url"));
        CHECK(
            contains(error_of(with(google_config(), "customer", 5)), "customer must be a string"));
        CHECK(contains(error_of(with(google_config(), "base_ur1", "https://x")), "base_ur1"));
        CHECK(contains(error_of(without(graph_config(), "client_secret")),
                       "client_secret is required"));
        CHECK(contains(error_of(with(graph_config(), "tenant_id", "a/b")), "tenant_id"));
        CHECK(contains(error_of(with(graph_config(), "graph_url", "https://g.test?x=1")),
                       "graph_url"));
        CHECK(contains(error_of(with(scim_config(10), "page_size", 0)), "page_size"));
        CHECK(contains(error_of(with(scim_config(10), "page_size", 1001)), "page_size"));
        CHECK(contains(error_of(with(scim_config(10), "bearer_token", "a\nb")), "bearer_token"));
        CHECK(contains(error_of(without(scim_config(10), "base_url")), "base_url is required"));
        CHECK(contains(error_of(with(scim_config(10), "max_users", 0)), "max_users"));
        CHECK(contains(error_of(with(scim_config(10), "timeout_seconds", 301)), "timeout_seconds"));
        // The secret itself never shows up in an error.
        CHECK_FALSE(contains(error_of(with(graph_config(), "graph_url", "nope")), "s3cr3t"));
    }

    TEST_CASE("config: the Google defaults and the timeout setting") {
        json::object config = google_config();
        config.erase("base_url");
        config["service_account"].as_object().erase("token_uri");
        config["timeout_seconds"] = 5;
        auto google = source(config);
        ScriptedTransport t;
        t.then_json(google_token())
            .then_json(google_page("users", {}))
            .then_json(google_page("groups", {}));
        pulled(*google, t);
        CHECK(t.requests.at(0).url == "https://oauth2.googleapis.com/token");
        CHECK(t.requests.at(1).url.rfind(
                  "https://admin.googleapis.com/admin/directory/v1/users?customer=my_customer",
                  0) == 0);
        CHECK(t.requests.at(1).deadline == std::chrono::milliseconds{5000});
        const std::string jwt = form_fields(t.requests.at(0).body).at("assertion");
        const auto first = jwt.find('.');
        const json::value claims =
            json::parse(base64url_decode(jwt.substr(first + 1, jwt.rfind('.') - first - 1)));
        CHECK(claims.at("aud") == "https://oauth2.googleapis.com/token");
    }

    // ---- The plan -----------------------------------------------------------------------------

    TEST_CASE("plan: a complete snapshot creates, updates, keeps and deletes") {
        DirectorySnapshot s;
        s.users = {
            pulled_user("u3", "New"), pulled_user("u1", "Engineer"), pulled_user("u2", "Lead")};
        const std::vector<CanonicalEntry> users{
            entry("c1", "u1", held_user("u1", "Engineer")),
            entry("c2", "u2", held_user("u2", "Engineer")),
            entry("c9", "u9", held_user("u9", "")),
            entry("c0", "", held_user("x", "")),  // not from this source: never deleted
        };
        const SyncPlan plan = plan_directory_sync(s, users, {});
        REQUIRE(plan.create_users.size() == 1);
        CHECK(plan.create_users[0].external_id == "u3");
        REQUIRE(plan.update_users.size() == 1);
        CHECK(plan.update_users[0].first == "c2");
        CHECK(plan.update_users[0].second.resource.at("title") == "Lead");
        CHECK(plan.delete_user_ids == Ids{"c9"});
        CHECK(plan.unchanged == 1);

        // A new resource carries no nulls and no empty extension pieces.
        const json::object& created = plan.create_users[0].resource;
        CHECK(created.at("title") == "New");
        CHECK(created.at(kEnterprise).as_object().if_contains("manager") == nullptr);

        // The update applies over what the bridge holds, keeping what the source does not supply.
        const json::object after =
            apply_pulled(users[1].resource, plan.update_users[0].second.resource);
        CHECK(after.at("title") == "Lead");
        CHECK(after.at("nickName") == "set elsewhere");
        CHECK(after.at("name").at("middleName") == "Q");
        CHECK(after.at(kEnterprise).at("costCenter") == "elsewhere");
        CHECK_FALSE(pulled_differs(after, plan.update_users[0].second.resource));
    }

    TEST_CASE("plan: attributes the source does not supply are not churned") {
        DirectorySnapshot s;
        s.users = {pulled_user("u1", "")};
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held_user("u1", ""))};
        const SyncPlan plan = plan_directory_sync(s, users, {});
        CHECK(plan.update_users.empty());
        CHECK(plan.unchanged == 1);
    }

    TEST_CASE("plan: a null the source sends clears a value") {
        DirectorySnapshot s;
        s.users = {pulled_user("u1", "")};  // title: null
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held_user("u1", "Engineer"))};
        const SyncPlan plan = plan_directory_sync(s, users, {});
        REQUIRE(plan.update_users.size() == 1);
        const json::object after =
            apply_pulled(users[0].resource, plan.update_users[0].second.resource);
        CHECK(after.if_contains("title") == nullptr);
        CHECK(after.at("nickName") == "set elsewhere");
    }

    TEST_CASE("plan: a multi-valued attribute compares as a set") {
        DirectoryUser u = pulled_user("u1", "");
        u.resource["phoneNumbers"] =
            json::parse(R"([{"value":"1","type":"work"},{"value":"2","type":"mobile"}])");
        json::object held = held_user("u1", "");
        held["phoneNumbers"] = json::parse(
            R"([{"value":"2","type":"mobile"},{"value":"1","type":"work","display":"x"}])");
        CHECK_FALSE(pulled_differs(held, u.resource));
        held["phoneNumbers"] = json::parse(R"([{"value":"2","type":"mobile"}])");
        CHECK(pulled_differs(held, u.resource));
    }

    TEST_CASE("plan: a delta deletes only what it removed") {
        DirectorySnapshot s;
        s.complete = false;
        s.users = {DirectoryUser{"u1", json::object{{"externalId", "u1"}, {"title", "Lead"}}}};
        s.removed_user_ids = {"u2", "u404"};
        s.groups = {};
        s.removed_group_ids = {"g2"};
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held_user("u1", "Engineer")),
                                                entry("c2", "u2", held_user("u2", "")),
                                                entry("c3", "u3", held_user("u3", ""))};
        const std::vector<CanonicalEntry> groups{
            entry("k1", "g1", json::object{{"displayName", "A"}}),
            entry("k2", "g2", json::object{{"displayName", "B"}})};
        const SyncPlan plan = plan_directory_sync(s, users, groups);
        CHECK(plan.delete_user_ids == Ids{"c2"});  // c3 is merely absent from the delta
        CHECK(plan.delete_group_ids == Ids{"k2"});
        REQUIRE(plan.update_users.size() == 1);
        CHECK(plan.update_users[0].first == "c1");
        CHECK(plan.create_users.empty());
    }

    TEST_CASE("plan: group members resolve to canonical ids, pending for new ones") {
        DirectorySnapshot s;
        s.users = {pulled_user("u1", ""), pulled_user("u3", "")};
        s.groups = {DirectoryGroup{"g1", "Engineering", {"u3", "u1", "u404"}, {"g2"}},
                    DirectoryGroup{"g2", "Platform", {"u1"}, {}},
                    DirectoryGroup{"g3", "New", {"u1", "u3"}, {"g1"}}};
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held_user("u1", ""))};
        const std::vector<CanonicalEntry> groups{
            entry("k1",
                  "g1",
                  json::parse(
                      R"({"displayName":"Engineering","members":[{"value":"c1"},{"value":"k2"}]})")
                      .as_object()),
            entry("k2",
                  "g2",
                  json::parse(
                      R"({"displayName":"Platform","members":[{"value":"c1","type":"User"}]})")
                      .as_object()),
            entry("k9", "g9", json::object{{"displayName", "Gone"}})};
        const SyncPlan plan = plan_directory_sync(s, users, groups);

        REQUIRE(plan.create_users.size() == 1);
        REQUIRE(plan.update_groups.size() == 1);  // g1: u3 joins (pending); g2 is unchanged
        const auto& [g1_id, g1] = plan.update_groups[0];
        CHECK(g1_id == "k1");
        CHECK(g1.member_user_ids == Ids{"c1"});
        CHECK(g1.member_group_ids == Ids{"k2"});
        CHECK(g1.pending_user_ids == Ids{"u3"});
        CHECK(g1.unknown_member_ids == Ids{"u404"});
        REQUIRE(plan.create_groups.size() == 1);
        CHECK(plan.create_groups[0].external_id == "g3");
        CHECK(plan.create_groups[0].member_user_ids == Ids{"c1"});
        CHECK(plan.create_groups[0].pending_user_ids == Ids{"u3"});
        CHECK(plan.create_groups[0].member_group_ids == Ids{"k1"});
        CHECK(plan.delete_group_ids == Ids{"k9"});
        CHECK(plan.unchanged == 2);  // user u1, group g2
    }

    TEST_CASE("plan: a renamed group and a member that left are updates") {
        DirectorySnapshot s;
        s.users = {pulled_user("u1", ""), pulled_user("u2", "")};
        s.groups = {DirectoryGroup{"g1", "Renamed", {"u1"}, {}},
                    DirectoryGroup{"g2", "Same", {}, {}}};
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held_user("u1", "")),
                                                entry("c2", "u2", held_user("u2", ""))};
        const std::vector<CanonicalEntry> groups{
            entry("k1",
                  "g1",
                  json::parse(R"({"displayName":"Old","members":[{"value":"c1"}]})").as_object()),
            entry("k2",
                  "g2",
                  json::parse(R"({"displayName":"Same","members":[{"value":"c2"}]})").as_object())};
        const SyncPlan plan = plan_directory_sync(s, users, groups);
        REQUIRE(plan.update_groups.size() == 2);
        CHECK(plan.update_groups[0].first == "k1");
        CHECK(plan.update_groups[0].second.display_name == "Renamed");
        CHECK(plan.update_groups[1].first == "k2");
        CHECK(plan.update_groups[1].second.member_user_ids.empty());  // c2 left
    }

    TEST_CASE("plan: delta member changes keep only real changes") {
        DirectorySnapshot s;
        s.complete = false;
        DirectoryGroup g{"g1", "", {"u1", "u2"}, {}};
        g.members_are_delta = true;
        g.removed_member_user_ids = {"u3", "u4"};
        s.groups = {g};
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held_user("u1", "")),
                                                entry("c2", "u2", held_user("u2", "")),
                                                entry("c3", "u3", held_user("u3", "")),
                                                entry("c4", "u4", held_user("u4", ""))};
        const std::vector<CanonicalEntry> groups{
            entry("k1",
                  "g1",
                  json::parse(R"({"displayName":"Team","members":[{"value":"c1"},{"value":"c3"}]})")
                      .as_object())};
        SyncPlan plan = plan_directory_sync(s, users, groups);
        REQUIRE(plan.update_groups.size() == 1);
        const PlannedGroup& p = plan.update_groups[0].second;
        CHECK(p.members_are_delta);
        CHECK(p.display_name.empty());
        CHECK(p.member_user_ids == Ids{"c2"});          // c1 is already a member
        CHECK(p.removed_member_user_ids == Ids{"c3"});  // c4 is not a member
        CHECK(plan.delete_user_ids.empty());

        // Nothing left to change: unchanged.
        s.groups[0].member_user_ids = {"u1"};
        s.groups[0].removed_member_user_ids = {"u4"};
        plan = plan_directory_sync(s, users, groups);
        CHECK(plan.update_groups.empty());
        CHECK(plan.unchanged == 1);
    }

    TEST_CASE("plan: a manager resolves to a canonical id or waits for its creation") {
        DirectorySnapshot s;
        DirectoryUser ann = pulled_user("u1", "");
        ann.resource[kEnterprise].as_object()["manager"] = json::object{{"value", "u2"}};
        DirectoryUser bob = pulled_user("u3", "");
        bob.resource[kEnterprise].as_object()["manager"] = json::object{{"value", "u4"}};
        s.users = {ann, bob, pulled_user("u2", ""), pulled_user("u4", "")};
        json::object held = held_user("u1", "");
        held[kEnterprise].as_object()["manager"] = json::object{{"value", "c2"}};
        const std::vector<CanonicalEntry> users{entry("c1", "u1", held),
                                                entry("c2", "u2", held_user("u2", ""))};
        const SyncPlan plan = plan_directory_sync(s, users, {});
        CHECK(plan.update_users.empty());  // u1's manager u2 is c2 already
        CHECK(plan.unchanged == 2);
        REQUIRE(plan.create_users.size() == 2);
        CHECK(plan.create_users[0].external_id == "u3");
        CHECK(plan.create_users[0].resource.at(kEnterprise).as_object().if_contains("manager") ==
              nullptr);
        REQUIRE(plan.pending_managers.size() == 1);
        CHECK(plan.pending_managers[0] == std::pair<std::string, std::string>{"u3", "u4"});
    }

    TEST_CASE("plan: the order is deterministic") {
        DirectorySnapshot s;
        s.users = {pulled_user("u3", ""), pulled_user("u1", ""), pulled_user("u2", "")};
        const std::vector<CanonicalEntry> users{entry("c9", "x9", json::object{}),
                                                entry("c5", "x5", json::object{})};
        const SyncPlan a = plan_directory_sync(s, users, {});
        std::reverse(s.users.begin(), s.users.end());
        const SyncPlan b = plan_directory_sync(s, users, {});
        REQUIRE(a.create_users.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(a.create_users[i].external_id == b.create_users[i].external_id);
        }
        CHECK(a.create_users[0].external_id == "u1");
        CHECK(a.delete_user_ids == Ids{"c5", "c9"});
    }

    TEST_CASE("plan: apply_pulled joins the extension schema and drops an emptied extension") {
        const json::object current{
            {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User"}},
            {"userName", "a"}};
        const json::object pulled{
            {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User", kEnterprise}},
            {kEnterprise, json::object{{"department", "R&D"}}}};
        const json::object after = apply_pulled(current, pulled);
        CHECK(after.at("schemas").as_array().size() == 2);
        CHECK(after.at(kEnterprise).at("department") == "R&D");

        const json::object cleared{
            {"schemas", json::array{"urn:ietf:params:scim:schemas:core:2.0:User", kEnterprise}},
            {kEnterprise, json::object{{"department", nullptr}}}};
        const json::object back = apply_pulled(after, cleared);
        CHECK(back.if_contains(kEnterprise) == nullptr);
        CHECK(back.at("schemas").as_array().size() == 1);
    }
}
