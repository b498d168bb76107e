#pragma once
// Fake directories for e2e tests of directory pulls: real HTTP/1.1 servers (Beast; TLS with the
// dev certificates when asked) on 127.0.0.1 and a port the OS picks, one thread per connection,
// each holding a mutable in-memory directory the test changes between pulls:
//
//   FakeGoogleDirectory   Admin SDK Directory API + an OAuth token endpoint that verifies the
//                         service-account JWT (RS256) against the public key it is given
//   FakeGraphDirectory    Microsoft Graph users/groups delta queries (nextLink → deltaLink, later
//                         rounds report only changes, members@delta, "@removed") + a client-
//                         credentials token endpoint that checks the client secret
//   FakeScimSource        a SCIM 2.0 service provider listing /Users and /Groups by startIndex
//
//   const RsaKeyPair key = generate_rsa_key();
//   FakeGoogleDirectory google(key.public_pem);
//   google.put_user({.id = "100", .email = "ann@acme.test", .given_name = "Ann"});
//   google.put_group({.id = "g1", .name = "Eng", .member_user_ids = {"100"}});
//   ... configure the bridge with google.source_config(key.private_pem), pull ...
//   google.remove_user("100");          // the next pull no longer lists her
//   CHECK(google.rejected_tokens() == 0);
//
// Every fake pages with FakeDirectoryOptions::page_size items per page (small by default, so a
// handful of users already spans pages), requires the bearer token its token endpoint issued
// (401 otherwise), records every request, and misbehaves on demand (fail_next: a status, with
// Retry-After for 429). Changes take effect for the next request; change the directory between
// pulls, not during one. The destructor stops the server and joins every thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace scimbridge::tests {

// An RSA-2048 key pair in PEM (PKCS#8 private key, SubjectPublicKeyInfo public key), as a Google
// service account's key file holds it.
struct RsaKeyPair {
    std::string private_pem;
    std::string public_pem;
};
RsaKeyPair generate_rsa_key();

// A person as the fakes hold them; each fake renders it in its API's own shape.
struct FakeDirectoryUser {
    std::string id;     // the directory's immutable id (becomes the bridge's externalId)
    std::string email;  // Google primaryEmail; Graph userPrincipalName and mail; SCIM userName
    std::string given_name;
    std::string family_name;
    std::string title;        // "" = none
    std::string department;   // "" = none
    std::string employee_id;  // "" = none
    std::string manager_id;   // a user id; Google renders it as a manager relation (an email)
    bool active = true;       // Google: suspended = !active; Graph: accountEnabled; SCIM: active
};

struct FakeDirectoryGroup {
    std::string id;
    std::string name;
    std::vector<std::string> member_user_ids;
    std::vector<std::string> member_group_ids;  // nested groups
};

struct FakeDirectoryOptions {
    bool tls = false;
    std::string cert_file;      // PEM chain, when tls (e2e: dev_certs().cert())
    std::string key_file;       // PEM key, when tls (e2e: dev_certs().key())
    std::size_t page_size = 2;  // items per page, whatever the client asks for
    std::chrono::seconds token_lifetime{3600};
};

struct FakeDirectoryRecord {
    std::string method;
    std::string target;                          // path and query as sent
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
    int status = 0;      // the status answered
    bool token = false;  // a token-endpoint request
};

class FakeHttpServer;  // fake_directory.cpp

// What the three fakes share: the directory, the request log, faults, the server.
class FakeDirectory {
public:
    FakeDirectory(const FakeDirectory&) = delete;
    FakeDirectory& operator=(const FakeDirectory&) = delete;

    unsigned short port() const { return port_; }
    // "http(s)://127.0.0.1:PORT" + path.
    std::string url(std::string_view path = "") const;

    // --- The directory (thread-safe) ---
    void put_user(FakeDirectoryUser user);     // adds, or replaces the user with that id
    bool remove_user(const std::string& id);   // also leaves every group; false when unknown
    void put_group(FakeDirectoryGroup group);  // adds, or replaces (name and members)
    bool remove_group(const std::string& id);  // also leaves every group it was nested in
    bool add_member(const std::string& group_id,
                    const std::string& member_id,
                    bool is_group = false);
    bool remove_member(const std::string& group_id, const std::string& member_id);
    std::vector<FakeDirectoryUser> users() const;
    std::vector<FakeDirectoryGroup> groups() const;

    // --- Faults: the next `times` API requests (token requests excluded) get `status`, with
    // Retry-After when given (429 with Retry-After is how Graph and Google throttle) ---
    void fail_next(int status,
                   std::size_t times = 1,
                   std::optional<int> retry_after = std::nullopt);

    // --- What happened ---
    std::vector<FakeDirectoryRecord> records() const;
    std::size_t request_count() const;
    std::size_t token_requests() const;         // token-endpoint requests (granted or not)
    std::size_t rejected_tokens() const;        // token requests refused (bad JWT, wrong secret)
    std::size_t unauthorized_requests() const;  // API requests without a valid bearer token
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
    void clear_records();

protected:
    struct Incoming {
        std::string method;
        std::string path;  // without the query
        std::string target;
        std::map<std::string, std::string> query;    // percent-decoded
        std::map<std::string, std::string> headers;  // lower-cased names
        std::string body;
    };
    struct Reply {
        int status = 200;
        std::string body;  // JSON unless content_type says otherwise
        std::string content_type = "application/json";
        std::vector<std::pair<std::string, std::string>> headers;
        bool token_request = false;  // answered by a token endpoint (counted apart, no faults)
    };
    // Change tracking for Graph's delta queries: every change bumps version_; objects remember
    // the version of their last change, removals leave tombstones, member changes a log.
    struct TrackedUser {
        FakeDirectoryUser user;
        std::uint64_t changed = 0;
    };
    struct TrackedGroup {
        FakeDirectoryGroup group;
        std::uint64_t changed = 0;  // name (or creation)
    };
    struct MemberEvent {
        std::uint64_t version = 0;
        std::string group_id;
        std::string member_id;
        bool is_group = false;
        bool removed = false;
    };

    explicit FakeDirectory(FakeDirectoryOptions options);
    ~FakeDirectory();
    // Derived constructors call start() last and their destructors stop() first, so no request
    // reaches a half-built or half-destroyed fake.
    void start(std::function<Reply(const Incoming&)> route);
    void stop();

    // For routes: a bearer token this fake issued (and its lifetime has not passed).
    bool authorized(const Incoming& in) const;  // mutex_ held
    std::string issue_token();                  // mutex_ held
    void accept_token(std::string token);       // a fixed token that never expires (SCIM)
    static Reply json_reply(int status, const boost::json::value& body);
    static Reply unauthorized(std::string_view message);
    std::optional<Reply> injected_fault();  // mutex_ held
    void record_change_locked();            // bumps version_

    FakeDirectoryOptions options_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::map<std::string, TrackedUser> users_;
    std::map<std::string, TrackedGroup> groups_;
    std::map<std::string, std::uint64_t> removed_users_;  // id → version of the removal
    std::map<std::string, std::uint64_t> removed_groups_;
    std::vector<MemberEvent> member_events_;
    std::uint64_t version_ = 0;
    std::size_t rejected_tokens_ = 0;
    std::size_t unauthorized_ = 0;

private:
    void record_locked(const Incoming& in, const Reply& reply);

    unsigned short port_ = 0;
    std::map<std::string, std::chrono::steady_clock::time_point> tokens_;  // token → expiry
    std::uint64_t token_serial_ = 0;
    std::vector<FakeDirectoryRecord> records_;
    std::size_t token_requests_ = 0;
    int fault_status_ = 0;
    std::size_t fault_times_ = 0;
    std::optional<int> fault_retry_after_;
    std::unique_ptr<FakeHttpServer> server_;

    friend class FakeHttpServer;
};

// Google Workspace: POST /token (RFC 7523 JWT bearer grant; the JWT is RS256-verified against
// `public_key_pem`, its aud must be token_uri() and its scope the Directory read-only scopes;
// anything else is 400 invalid_grant), GET /admin/directory/v1/users, /groups and
// /groups/{id}/members with maxResults and pageToken.
class FakeGoogleDirectory final : public FakeDirectory {
public:
    explicit FakeGoogleDirectory(std::string public_key_pem, FakeDirectoryOptions options = {});
    ~FakeGoogleDirectory();

    std::string token_uri() const { return url("/token"); }
    std::string base_url() const { return url(); }
    // The bridge's source configuration: {"kind":"google","service_account":{...},...}.
    boost::json::object source_config(const std::string& private_key_pem,
                                      const std::string& subject = "admin@acme.test") const;
    // iss and sub of the last JWT accepted.
    std::string last_issuer() const;
    std::string last_subject() const;

private:
    Reply route(const Incoming& in);
    Reply token(const Incoming& in);
    boost::json::object render_user(const FakeDirectoryUser& u) const;

    std::string public_key_pem_;
    std::string last_issuer_;
    std::string last_subject_;
};

// Microsoft Graph: POST /{tenant}/oauth2/v2.0/token (client_credentials; wrong client id or
// secret is 401 invalid_client), GET /v1.0/users/delta and /v1.0/groups/delta. The first round
// lists everything and ends with an @odata.deltaLink; a round from a deltaLink lists only users
// and groups changed since, removed ones as {"id", "@removed"}, and for groups members@delta
// with the members added and removed. expire_delta_links() makes every link issued so far
// answer 410 Gone (Graph's "resync required").
class FakeGraphDirectory final : public FakeDirectory {
public:
    FakeGraphDirectory(std::string tenant_id,
                       std::string client_id,
                       std::string client_secret,
                       FakeDirectoryOptions options = {});
    ~FakeGraphDirectory();

    void expire_delta_links();
    // {"kind":"graph","tenant_id",...,"login_url": url(),"graph_url": url()}.
    boost::json::object source_config() const;
    // Listings started from a deltaLink (users and groups count apart; full listings do not).
    std::size_t delta_listings() const;

private:
    Reply route(const Incoming& in);
    Reply token(const Incoming& in);
    Reply delta(const Incoming& in, bool users);
    boost::json::object render_user(const FakeDirectoryUser& u) const;

    std::string tenant_id_;
    std::string client_id_;
    std::string client_secret_;
    std::uint64_t epoch_ = 1;  // bumped by expire_delta_links()
    std::size_t delta_listings_ = 0;
};

// A SCIM 2.0 service provider: GET /scim/v2/Users and /scim/v2/Groups with startIndex and count
// (count capped at page_size; itemsPerPage and totalResults reported), bearer token fixed.
class FakeScimSource final : public FakeDirectory {
public:
    explicit FakeScimSource(std::string bearer_token, FakeDirectoryOptions options = {});
    ~FakeScimSource();

    std::string base_url() const { return url("/scim/v2"); }
    // {"kind":"scim","base_url","bearer_token","page_size"}.
    boost::json::object source_config(int page_size = 500) const;

private:
    Reply route(const Incoming& in);
    boost::json::object render_user(const FakeDirectoryUser& u) const;

    std::string bearer_token_;
};

}  // namespace scimbridge::tests
