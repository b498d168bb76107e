// Google Workspace as a directory source: the Admin SDK Directory API read with a service
// account and domain-wide delegation. The access token comes from a JWT (RS256, signed with the
// service account's key, impersonating `subject`) exchanged at the token endpoint (RFC 7523);
// it is reused until shortly before it expires. Google cannot push, so every pull lists users,
// groups and each group's direct members in full.

#include <map>
#include <memory>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mappers/directory_client.hpp"
#include "scim/schema.hpp"
#include "scim/text.hpp"

namespace scimbridge::mappers::directory_detail {

namespace {

namespace json = boost::json;

constexpr std::string_view kScopes =
    "https://www.googleapis.com/auth/admin.directory.user.readonly "
    "https://www.googleapis.com/auth/admin.directory.group.readonly "
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";
constexpr std::string_view kJwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::chrono::seconds kAssertionLifetime{3600};
// A token this close to expiry is renewed: a page request must not start with a token that
// lapses in flight.
constexpr std::chrono::seconds kRenewBefore{300};
constexpr std::chrono::seconds kDefaultTokenLifetime{3600};
constexpr int kUsersPerPage = 500;  // the API's maximum
constexpr int kGroupsPerPage = 200;
constexpr int kMembersPerPage = 200;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// An encrypted PEM must fail, not make OpenSSL prompt on the terminal for a pass phrase.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
    return 0;
}

Pkey read_rsa_private_key(std::string_view pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    if (!bio) {
        return nullptr;
    }
    Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr));
    ERR_clear_error();
    if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
        return nullptr;
    }
    return key;
}

// base64url without padding (RFC 7515 §2).
std::string base64url(std::string_view bytes) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : bytes) {
        buffer = (buffer << 8U) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlphabet[(buffer >> static_cast<unsigned>(bits)) & 63U]);
        }
    }
    if (bits > 0) {
        out.push_back(kAlphabet[(buffer << static_cast<unsigned>(6 - bits)) & 63U]);
    }
    return out;
}

std::optional<std::string> sign_rs256(EVP_PKEY* key, std::string_view input) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    std::size_t length = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(),
                       reinterpret_cast<unsigned char*>(signature.data()),
                       &length,
                       data,
                       input.size()) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    signature.resize(length);
    return signature;
}

struct GoogleConfig {
    std::string client_email;
    std::string private_key_id;  // optional: the JWT header's kid
    std::string token_uri;
    std::string subject;
    std::string customer;
    std::string base_url;
    std::shared_ptr<EVP_PKEY> key;
};

// Google's phone types to RFC 7643 §4.1.2's canonical ones.
std::string_view phone_type(std::string_view google) {
    if (google == "work" || google == "home" || google == "mobile" || google == "pager") {
        return google;
    }
    if (google == "work_mobile") {
        return "mobile";
    }
    if (google == "work_pager") {
        return "pager";
    }
    if (google == "home_fax" || google == "work_fax" || google == "other_fax") {
        return "fax";
    }
    return "other";
}

json::value or_null(const std::optional<std::string>& s) {
    if (!s || s->empty()) {
        return nullptr;
    }
    return json::string(*s);
}

// The primary organization, or the first one.
const json::object* main_organization(const json::object& user) {
    const json::array* organizations = array_member(user, "organizations");
    if (organizations == nullptr) {
        return nullptr;
    }
    const json::object* first = nullptr;
    for (const json::value& v : *organizations) {
        if (!v.is_object()) {
            continue;
        }
        if (bool_member(v.get_object(), "primary").value_or(false)) {
            return &v.get_object();
        }
        if (first == nullptr) {
            first = &v.get_object();
        }
    }
    return first;
}

std::optional<std::string> typed_value(const json::object& user,
                                       std::string_view array,
                                       std::string_view type) {
    const json::array* items = array_member(user, array);
    if (items == nullptr) {
        return std::nullopt;
    }
    for (const json::value& v : *items) {
        if (v.is_object() && string_member(v.get_object(), "type") == type) {
            if (auto value = string_member(v.get_object(), "value"); value && !value->empty()) {
                return value;
            }
        }
    }
    return std::nullopt;
}

struct MappedUser {
    DirectoryUser user;
    std::optional<std::string> manager_email;
};

// A Directory API user resource as a canonical SCIM user; nullopt without an id or primaryEmail.
std::optional<MappedUser> map_user(const json::object& u) {
    const auto id = id_member(u, "id");
    const auto email = string_member(u, "primaryEmail");
    if (!id || !email || email->empty()) {
        return std::nullopt;
    }
    json::object name;
    const json::object* google_name = object_member(u, "name");
    const auto part = [&](std::string_view key) {
        return google_name != nullptr ? or_null(string_member(*google_name, key)) : nullptr;
    };
    name["givenName"] = part("givenName");
    name["familyName"] = part("familyName");
    name["formatted"] = part("fullName");

    json::value phones = nullptr;
    if (const json::array* list = array_member(u, "phones")) {
        json::array out;
        for (const json::value& v : *list) {
            if (!v.is_object()) {
                continue;
            }
            const auto number = string_member(v.get_object(), "value");
            if (!number || number->empty()) {
                continue;
            }
            json::object phone{
                {"value", *number},
                {"type", phone_type(string_member(v.get_object(), "type").value_or("other"))}};
            if (bool_member(v.get_object(), "primary").value_or(false)) {
                phone["primary"] = true;
            }
            out.push_back(std::move(phone));
        }
        if (!out.empty()) {
            phones = std::move(out);
        }
    }

    const json::object* organization = main_organization(u);
    const auto org = [&](std::string_view key) {
        return organization != nullptr ? or_null(string_member(*organization, key)) : nullptr;
    };
    const bool suspended = bool_member(u, "suspended").value_or(false);
    const bool archived = bool_member(u, "archived").value_or(false);

    MappedUser mapped;
    mapped.manager_email = typed_value(u, "relations", "manager");
    json::object enterprise{
        {"department", org("department")},
        {"costCenter", org("costCenter")},
        {"organization", org("name")},
        {"employeeNumber", or_null(typed_value(u, "externalIds", "organization"))},
        // Resolved to the manager's id once every user is known.
        {"manager", nullptr}};
    json::object resource{
        {"schemas", user_schemas(true)},
        {"externalId", *id},
        {"userName", *email},
        {"name", name},
        {"displayName", name["formatted"]},
        {"active", !(suspended || archived)},
        {"emails",
         json::array{json::object{{"value", *email}, {"type", "work"}, {"primary", true}}}},
        {"phoneNumbers", std::move(phones)},
        {"title", org("title")},
        {scim::kEnterpriseUserSchema, std::move(enterprise)},
    };
    mapped.user.external_id = *id;
    mapped.user.resource = std::move(resource);
    return mapped;
}

class GoogleSource final : public DirectorySource {
public:
    GoogleSource(GoogleConfig config, PullLimits limits, WallClock clock)
        : config_(std::move(config)), limits_(limits), clock_(std::move(clock)) {}

    scim::Result<DirectorySnapshot> pull(HttpTransport& transport,
                                         std::string_view /*state: always full*/) override {
        PullClient client(transport, limits_, clock_, {});
        if (!access_token_.empty()) {
            client.add_secret(access_token_);
        }
        auto snapshot = pull_all(client);
        if (snapshot) {
            snapshot->requests = client.requests();
        }
        return snapshot;
    }

private:
    scim::Result<DirectorySnapshot> pull_all(PullClient& client) {
        DirectorySnapshot snapshot;
        std::vector<MappedUser> users;
        const std::string users_url =
            api("/users") + "?customer=" + percent_encode(config_.customer) +
            "&maxResults=" + std::to_string(kUsersPerPage) + "&projection=full";
        auto listed = list(client,
                           users_url,
                           "users",
                           "Google users",
                           [&](const json::object& item) -> std::optional<scim::Error> {
                               if (auto mapped = map_user(item)) {
                                   if (users.size() >= limits_.max_users) {
                                       return upstream_error("Google users: more than " +
                                                             std::to_string(limits_.max_users) +
                                                             " users (max_users)");
                                   }
                                   users.push_back(std::move(*mapped));
                               }
                               return std::nullopt;
                           });
        if (listed) {
            return *listed;
        }
        resolve_managers(users);
        snapshot.users.reserve(users.size());
        for (MappedUser& m : users) {
            snapshot.users.push_back(std::move(m.user));
        }

        const std::string groups_url = api("/groups") +
                                       "?customer=" + percent_encode(config_.customer) +
                                       "&maxResults=" + std::to_string(kGroupsPerPage);
        listed = list(client,
                      groups_url,
                      "groups",
                      "Google groups",
                      [&](const json::object& item) -> std::optional<scim::Error> {
                          const auto id = id_member(item, "id");
                          if (!id) {
                              return std::nullopt;
                          }
                          if (snapshot.groups.size() >= limits_.max_groups) {
                              return upstream_error("Google groups: more than " +
                                                    std::to_string(limits_.max_groups) +
                                                    " groups (max_groups)");
                          }
                          DirectoryGroup group;
                          group.external_id = *id;
                          group.display_name = string_member(item, "name").value_or("");
                          if (group.display_name.empty()) {
                              group.display_name = string_member(item, "email").value_or("");
                          }
                          snapshot.groups.push_back(std::move(group));
                          return std::nullopt;
                      });
        if (listed) {
            return *listed;
        }

        for (DirectoryGroup& group : snapshot.groups) {
            const std::string members_url =
                api("/groups/" + percent_encode(group.external_id) + "/members") +
                "?maxResults=" + std::to_string(kMembersPerPage);
            listed = list(client,
                          members_url,
                          "members",
                          "Google members of group " + group.external_id,
                          [&](const json::object& item) -> std::optional<scim::Error> {
                              const auto id = id_member(item, "id");
                              const auto type = string_member(item, "type");
                              if (!id || !type) {
                                  return std::nullopt;
                              }
                              if (*type == "USER") {
                                  group.member_user_ids.push_back(*id);
                              } else if (*type == "GROUP") {
                                  group.member_group_ids.push_back(*id);
                              }
                              // CUSTOMER (everyone in the domain) is no member we can name.
                              return std::nullopt;
                          });
            if (listed) {
                return *listed;
            }
        }
        return snapshot;
    }

    // relations[type=manager] holds an email: the manager's id when the manager was pulled too,
    // else the attribute is left out (not known, so not compared).
    static void resolve_managers(std::vector<MappedUser>& users) {
        std::map<std::string, std::string, std::less<>> id_by_email;
        for (const MappedUser& m : users) {
            id_by_email.emplace(scim::fold_case(m.user.resource.at("userName").as_string()),
                                m.user.external_id);
        }
        for (MappedUser& m : users) {
            json::object& enterprise = m.user.resource.at(scim::kEnterpriseUserSchema).as_object();
            if (!m.manager_email) {
                continue;  // no manager relation: null, the source says there is none
            }
            const auto it = id_by_email.find(scim::fold_case(*m.manager_email));
            if (it != id_by_email.end()) {
                enterprise["manager"] = json::object{{"value", it->second}};
            } else {
                enterprise.erase("manager");
            }
        }
    }

    std::string api(const std::string& path) const {
        return config_.base_url + "/admin/directory/v1" + path;
    }

    template <class OnItem>
    std::optional<scim::Error> list(PullClient& client,
                                    const std::string& url,
                                    std::string_view items_key,
                                    const std::string& listing,
                                    OnItem&& on_item) {
        PageGuard guard(listing, limits_.max_pages);
        std::string page_token;
        for (;;) {
            const std::string page_url =
                page_token.empty() ? url : url + "&pageToken=" + percent_encode(page_token);
            auto page =
                api_get(client, page_url, listing + " page " + std::to_string(guard.pages()));
            if (!page) {
                return page.error();
            }
            if (const json::array* items = array_member(*page, items_key)) {
                for (const json::value& item : *items) {
                    if (!item.is_object()) {
                        continue;
                    }
                    if (auto stop = on_item(item.get_object())) {
                        return stop;
                    }
                }
            }
            const auto next = string_member(*page, "nextPageToken");
            if (!next || next->empty()) {
                return std::nullopt;
            }
            if (auto stop = guard.next(*next)) {
                return stop;
            }
            page_token = *next;
        }
    }

    // GET with the bearer token (renewed once on a 401).
    scim::Result<json::object> api_get(PullClient& client,
                                       const std::string& url,
                                       const std::string& what) {
        auto response =
            client.get_with_bearer(url, [&](bool renew) { return access_token(client, renew); });
        if (!response) {
            return response.error();
        }
        return client.json_object(*response, what);
    }

    scim::Result<std::string> access_token(PullClient& client, bool renew) {
        const auto now = client.now();
        if (!renew && !access_token_.empty() && now + kRenewBefore < token_expiry_) {
            return access_token_;
        }
        access_token_.clear();
        const auto assertion = make_assertion(now);
        if (!assertion) {
            return upstream_error("Google: cannot sign the service-account JWT");
        }
        client.add_secret(*assertion);  // a credential for an hour: never in a detail
        HttpRequest request;
        request.method = "POST";
        request.url = config_.token_uri;
        request.headers["Content-Type"] = "application/x-www-form-urlencoded";
        request.headers["Accept"] = "application/json";
        request.body =
            form_body({{"grant_type", std::string(kJwtBearerGrant)}, {"assertion", *assertion}});
        const HttpResponse response = client.send(std::move(request));
        auto body =
            client.json_object(response, "Google token request (service-account authentication)");
        if (!body) {
            return body.error();
        }
        const auto token = string_member(*body, "access_token");
        if (!token || token->empty()) {
            return upstream_error("Google token request: the answer has no access_token");
        }
        std::chrono::seconds lifetime = kDefaultTokenLifetime;
        if (const json::value* expires = body->if_contains("expires_in");
            expires != nullptr && expires->is_int64() && expires->get_int64() > 0) {
            lifetime = std::chrono::seconds(expires->get_int64());
        }
        access_token_ = *token;
        token_expiry_ = now + lifetime;
        client.add_secret(access_token_);
        return access_token_;
    }

    // RFC 7523 §2.1: header.claims signed with the service account's key.
    std::optional<std::string> make_assertion(std::chrono::system_clock::time_point now) const {
        json::object header{{"alg", "RS256"}, {"typ", "JWT"}};
        if (!config_.private_key_id.empty()) {
            header["kid"] = config_.private_key_id;
        }
        const std::int64_t iat =
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        const json::object claims{{"iss", config_.client_email},
                                  {"sub", config_.subject},
                                  {"scope", kScopes},
                                  {"aud", config_.token_uri},
                                  {"iat", iat},
                                  {"exp", iat + kAssertionLifetime.count()}};
        const std::string signing_input =
            base64url(json::serialize(header)) + "." + base64url(json::serialize(claims));
        const auto signature = sign_rs256(config_.key.get(), signing_input);
        if (!signature) {
            return std::nullopt;
        }
        return signing_input + "." + base64url(*signature);
    }

    GoogleConfig config_;
    PullLimits limits_;
    WallClock clock_;
    std::string access_token_;
    std::chrono::system_clock::time_point token_expiry_{};
};

}  // namespace

scim::Result<std::unique_ptr<DirectorySource>> make_google_source(const json::object& config,
                                                                  PullLimits limits,
                                                                  WallClock clock) {
    if (auto bad = unknown_fields(config,
                                  {"kind",
                                   "service_account",
                                   "subject",
                                   "customer",
                                   "base_url",
                                   "max_users",
                                   "max_groups",
                                   "max_pages",
                                   "timeout_seconds"},
                                  "")) {
        return *bad;
    }
    const json::value* account_value = config.if_contains("service_account");
    if (account_value == nullptr || !account_value->is_object()) {
        return scim::Error::invalid_value("service_account must be an object (the key file)");
    }
    const json::object& account = account_value->get_object();
    GoogleConfig c;
    auto email = config_string(account, "client_email", "service_account.", std::nullopt, 320);
    if (!email) {
        return email.error();
    }
    if (email->find('@') == std::string::npos) {
        return scim::Error::invalid_value("service_account.client_email must be an email address");
    }
    c.client_email = *email;
    if (account.if_contains("private_key_id") != nullptr) {
        if (auto e = take(c.private_key_id, config_string(account, "private_key_id", "service_account.", std::nullopt, 256))) {
            return *e;
        }
    }
    auto pem = config_string(account, "private_key", "service_account.", std::nullopt, 16384, true);
    if (!pem) {
        return pem.error();
    }
    Pkey key = read_rsa_private_key(*pem);
    if (!key) {
        return scim::Error::invalid_value(
            "service_account.private_key must be an unencrypted PEM RSA private key");
    }
    c.key = std::shared_ptr<EVP_PKEY>(key.release(), PkeyFree{});
    auto token_uri =
        config_url(account, "token_uri", "service_account.", "https://oauth2.googleapis.com/token");
    if (!token_uri) {
        return token_uri.error();
    }
    c.token_uri = *token_uri;
    auto subject = config_string(config, "subject", "", std::nullopt, 320);
    if (!subject) {
        return subject.error();
    }
    if (subject->find('@') == std::string::npos) {
        return scim::Error::invalid_value("subject must be the email address of an administrator");
    }
    c.subject = *subject;
    if (auto e = take(c.customer, config_string(config, "customer", "", "my_customer", 256))) {
        return *e;
    }
    if (auto e = take(c.base_url, config_url(config, "base_url", "", "https://admin.googleapis.com"))) {
        return *e;
    }
    return std::unique_ptr<DirectorySource>(
        std::make_unique<GoogleSource>(std::move(c), limits, std::move(clock)));
}

}  // namespace scimbridge::mappers::directory_detail
