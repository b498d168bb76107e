#pragma once
// A fake downstream app for e2e tests and benchmarks: a real HTTP/1.1 server (Beast; TLS with
// the dev certificates when asked) on 127.0.0.1 and a port the OS picks, one thread per
// connection. It verifies Standard Webhooks signatures, records every request, applies each
// webhook-id once (so tests count effects apart from deliveries), keeps what the applied events
// leave the app holding, answers the bridge's resync batches from it, and misbehaves on demand:
//
//   FakeApp app({.secrets = {secret}});
//   app.fail_with(503, 2);            // the next two requests get 503, then 200 again
//   ... deliver to app.url() ...
//   CHECK(app.wait_for_applied(10, 5s));
//   CHECK(app.check_order().ok);
//
// Fault modes change at any time, also while requests are in flight; the destructor stops the
// server and joins every thread (hung and dripping requests included).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace scimbridge::tests {

struct FakeAppOptions {
    bool tls = false;
    std::string cert_file;  // PEM chain, when tls (e2e: dev_certs().cert())
    std::string key_file;   // PEM key, when tls (e2e: dev_certs().key())
    // Standard Webhooks secrets ("whsec_..."); empty: signatures are not checked.
    std::vector<std::string> secrets;
    std::chrono::seconds tolerance{300};
    // Resync batches get {"missing", "stale", "extra"}; false: 200 with an empty body (an app
    // that does not support reconciliation).
    bool answer_resync = true;
};

struct FakeAppRecord {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string webhook_id;                      // "" when the request had none
    int attempt = 0;                             // 1 for the first request with this id
    std::string raw_body;
    boost::json::value body;  // parsed JSON; null when the body is not JSON
    std::optional<bool> signature_valid;  // nullopt when no secrets are configured
    int status = 0;  // the status answered; 0 while hanging or when none was (reset, drop)
    bool applied = false;  // this request applied the webhook (first time its id was applied)
    std::chrono::system_clock::time_point received_at;
};

class FakeApp {
public:
    explicit FakeApp(FakeAppOptions options = {});
    ~FakeApp();
    FakeApp(const FakeApp&) = delete;
    FakeApp& operator=(const FakeApp&) = delete;

    unsigned short port() const { return port_; }
    // "http(s)://127.0.0.1:PORT/path" (host: "localhost" works too with the dev certificate).
    std::string url(std::string_view path = "/webhook", std::string_view host = "127.0.0.1") const;

    // --- Behaviour (thread-safe; takes effect for the next request, and wakes hung ones) ---
    // 200 and apply; with an account id the body is {"account_id": "..."}, else empty.
    void respond_ok(std::optional<std::string> account_id = std::nullopt);
    // `status` (500, 503, 400...) for the next `times` requests, then respond_ok again; without
    // `times` until changed. Nothing is applied.
    void fail_with(int status, std::optional<std::size_t> times = std::nullopt);
    // 429 with "Retry-After: retry_after_seconds", like fail_with.
    void throttle(int retry_after_seconds, std::optional<std::size_t> times = std::nullopt);
    // Read the request and never answer, until the behaviour changes (then the request is
    // answered the new way) or the app stops.
    void hang();
    // Answer 200 (not applied), one byte of the response every `per_byte`.
    void slow_drip(std::chrono::milliseconds per_byte = std::chrono::seconds(1));
    // Read the request, then close the socket abruptly (SO_LINGER 0: the client sees a reset);
    // for the next `times` requests, then respond_ok again; without `times` until changed.
    void reset(std::optional<std::size_t> times = std::nullopt);
    // 307 with Location: this app's own URL for the same target.
    void redirect();
    // 200 with a body of `bytes` bytes (not applied).
    void huge_body(std::size_t bytes = 1024 * 1024);
    // Apply, then reset without answering ("the app did it but the reply got lost"); for the
    // next `times` requests, then respond_ok again; without `times` until changed.
    void apply_then_drop(std::optional<std::size_t> times = std::nullopt);
    // Replace the secrets the signatures are checked against (rotation on the app's side).
    void set_secrets(std::vector<std::string> secrets);
    // Close every open connection, idle keep-alive ones included (a restart, an idle timeout).
    void close_connections();

    // --- What happened ---
    std::vector<FakeAppRecord> records() const;  // snapshot, in arrival order
    std::size_t request_count() const;
    std::size_t invalid_signatures() const;      // answered 401
    std::size_t connections_accepted() const;
    std::size_t open_connections() const;
    std::size_t applied_count() const;            // distinct webhook-ids applied
    bool applied(const std::string& webhook_id) const;
    int attempts(const std::string& webhook_id) const;  // requests seen with that id
    // resource id -> versions, in the order they were applied (body {"resource": {"id",
    // "version"}} as the bridge sends, or flat {"resource_id", "version"}; others not listed).
    std::map<std::string, std::vector<std::int64_t>> applied_versions() const;
    struct OrderReport {
        bool ok = true;                       // every resource's versions were non-decreasing
        std::vector<std::string> violations;  // "u1: version 3 applied after 5"
    };
    OrderReport check_order() const;

    // --- What the app holds (thread-safe) ---
    // Each applied event updates it: created/updated/reactivated/account.* upsert (data replaced
    // when the event has a non-empty one, state from account.state when sent), user.deactivated
    // and user.deleted leave a blocked record, group.deleted erases. Resync batches (body type
    // "resync.batch") are answered from it, never applied, and do not change it.
    struct Held {
        std::string type;  // "User" or "Group"
        std::int64_t version = 0;
        std::string state;  // account.state; "" when never sent (groups)
        boost::json::object data;
    };
    // Seed or overwrite an entry / drop one (the app lost it), as if the app did it itself.
    void hold(std::string id, std::string type, std::int64_t version, std::string state,
              boost::json::object data = {});
    void forget(const std::string& id);
    std::optional<Held> held(const std::string& id) const;
    std::map<std::string, Held> held_all() const;  // sorted copy: for tests, not benchmarks
    std::size_t resync_batches() const;  // resync batches answered 200 (with a diff or empty)

    // Wait until N distinct ids were applied / N requests arrived / at most N connections are
    // open; false on timeout.
    bool wait_for_applied(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_open_connections_at_most(std::size_t n, std::chrono::milliseconds timeout) const;
    bool wait_for_resync_batches(std::size_t n, std::chrono::milliseconds timeout) const;
    // Forget every record, attempt count, applied id and resync batch count (connections, what
    // the app holds and resync runs in progress stay).
    void clear();

    // One parsed request, and what to do about it (used by the connection threads).
    struct Incoming {
        std::string method;
        std::string target;
        std::map<std::string, std::string> headers;  // lower-cased names
        std::string body;
    };
    struct Reply {
        enum class Kind { kRespond, kDrip, kReset, kStop };
        Kind kind = Kind::kRespond;
        int status = 200;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;
        std::chrono::milliseconds drip_interval{1000};
    };
    Reply handle(const Incoming& request);
    // Sleeps up to `d`; false when the app is stopping.
    bool pause(std::chrono::milliseconds d);
    bool register_connection(int fd);  // false when stopping
    void unregister_connection(int fd);

private:
    enum class Mode {
        kOk,
        kStatus,
        kHang,
        kSlowDrip,
        kReset,
        kRedirect,
        kHugeBody,
        kApplyThenDrop,
    };
    struct Behaviour {
        Mode mode = Mode::kOk;
        int status = 200;
        std::optional<int> retry_after;
        std::optional<std::size_t> remaining;  // requests left before respond_ok
        std::chrono::milliseconds drip{1000};
        std::size_t huge_bytes = 0;
    };
    void set_behaviour(Behaviour b);
    void apply_locked(FakeAppRecord& record);
    void hold_event_locked(const boost::json::object& event, const std::string& id,
                           const boost::json::object* resource);
    void answer_ok_locked(FakeAppRecord& record, Reply& reply);
    std::string resync_answer_locked(const boost::json::object& batch);
    std::string own_url(const std::string& target) const;

    struct Net;  // sockets and threads (fake_app.cpp)

    FakeAppOptions options_;
    unsigned short port_ = 0;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool stopping_ = false;
    Behaviour behaviour_;
    std::uint64_t generation_ = 0;  // bumped on every behaviour change
    std::optional<std::string> account_id_;
    std::vector<FakeAppRecord> records_;
    std::size_t cleared_ = 0;  // records dropped by clear()
    std::map<std::string, int> attempts_;
    std::set<std::string> applied_ids_;
    std::map<std::string, std::vector<std::int64_t>> applied_versions_;
    std::unordered_map<std::string, Held> held_;
    // Resync run id -> the ids its batches listed so far (dropped after its final batch).
    std::unordered_map<std::string, std::unordered_set<std::string>> resync_runs_;
    std::size_t resync_batches_ = 0;
    std::size_t invalid_signatures_ = 0;
    std::size_t connections_ = 0;
    std::set<int> open_fds_;

    std::unique_ptr<Net> net_;  // last: stopped first
};

}  // namespace scimbridge::tests
