#pragma once
// Downstream reconciliation (DESIGN §7, resync (b)): what an app should hold — the scope and
// mapping of every canonical user and group, and each person's account state — against what it
// holds. SCIM apps are read back (paged GET of /Users and /Groups); webhook apps answer resync
// batches (the bridge lists what it believes the app holds, the app names what it lacks, holds
// stale, or holds in excess). Repairs go through the outbox like any change: the bridge first
// records what the app really holds (app_object), then enqueues a delivery, so retries, ordering
// and per-app limits are the delivery worker's as always. Orphans (held, not wanted) are
// deactivated, deleted or only reported, per the app's policy.
//
// Pure judging here; the HTTP of read-back and resync batches goes through the HttpTransport
// port; server/reconcile_jobs runs it as a scheduled job.

#include "mappers/app.hpp"
#include "mappers/connector.hpp"
#include "mappers/fanout.hpp"
#include "mappers/http_transport.hpp"
#include "scim/resource_store.hpp"
#include "scim/result.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace scimbridge::mappers {

// ---- what the app holds (read back from a SCIM app) ----------------------------------------

struct HeldResource {
    std::string remote_id;
    std::optional<std::string> external_id;
    boost::json::object resource;  // as the app returned it
    bool active = true;            // users: the app's active (absent counts as true)
    std::vector<std::string> member_remote_ids;  // groups: member values
};

// The read-back of one resource type, indexed by remote id and externalId; each entry is claimed
// once by the canonical resource it belongs to, and what is left unclaimed is an orphan.
class HeldIndex {
public:
    void add(HeldResource resource);
    std::size_t size() const { return entries_.size(); }
    // The entry with this remote id, else the one whose externalId is `external_id`; marks it
    // claimed. nullptr when none (or it was claimed already).
    const HeldResource* claim(const std::optional<std::string>& remote_id,
                              const std::optional<std::string>& external_id);
    std::vector<const HeldResource*> unclaimed() const;

private:
    std::vector<HeldResource> entries_;
    std::vector<bool> claimed_;
    std::unordered_map<std::string, std::size_t> by_remote_id_;
    std::unordered_map<std::string, std::size_t> by_external_id_;
};

struct ReadBack {
    HeldIndex users;
    HeldIndex groups;
    int requests = 0;
};

struct ReadBackLimits {
    std::size_t page_size = 1000;
    std::size_t max_resources = 5'000'000;   // per type
    std::size_t max_page_bytes = 16 * 1024 * 1024;
    std::function<void()> between_pages;  // called after each page (the scheduler's pacing)
};

// Pages through {base}/Users (and /Groups when `groups`): RFC 9865 cursors when the app offers
// them (first request `cursor=`), else startIndex paging. An error (the app unreachable, an
// answer that is not a list response, a limit hit) fails the whole read: a partial read-back
// would make every unread account look missing.
scim::Result<ReadBack> read_back(const ScimTargetConfig& config, HttpTransport& transport, bool groups,
                                 const ReadBackLimits& limits = {});

// ---- comparison -----------------------------------------------------------------------------

// Top-level attributes of `desired` whose values `held` does not carry: a held value matches
// when it is equal, or (objects) carries every desired sub-attribute, or (arrays) has the same
// length and every desired element matches one held element. Attribute names compare
// case-insensitively (RFC 7643 §2.1); so do string values of the attributes SCIM servers
// commonly fold (emails, userName) — held values are what the app made of what it received.
std::vector<std::string> drifted_attributes(const boost::json::object& desired, const boost::json::object& held);

// ---- judging --------------------------------------------------------------------------------

// One canonical user as the app should hold it, with what the bridge recorded of the app's copy.
struct DesiredUser {
    std::string id;
    std::int64_t version = 0;
    UserFacts facts;
    boost::json::object payload;      // mapped now
    std::optional<AppObject> object;  // app_object
    bool in_flight = false;           // a delivery of it is pending or leased
    bool connector_receives_events = true;  // webhook apps also get account.* events
    // The bridge wrote to the app's copy after the read-back began: the read-back cannot say
    // whether the app lost it (Recorded::written_since).
    bool written_since_read_back = false;
};

enum class Drift {
    kNone,
    kInFlight,     // a delivery is on its way, or was made after the read-back: not judged
    kUndelivered,  // a change the app was never sent (dead-lettered, or the app came later)
    kMissing,      // the app lost what it was sent
    kStale,        // the app holds other values (or another active state) than it was sent
};
std::string_view to_string(Drift drift);

struct Verdict {
    Drift drift = Drift::kNone;
    std::vector<std::string> attributes;  // kStale: which ones
    const HeldResource* held = nullptr;   // SCIM: the app's copy, when found
};

// What the bridge's own records say, before looking at the app: in flight, undelivered (the
// delivery worker would send something now), or nothing to say.
Verdict judge_recorded(const AppPolicies& policies, const DesiredUser& user);

// For a SCIM app: the user against the read-back (claims the app's copy). Call after
// judge_recorded said kNone. A copy written since the read-back began is not judged (kInFlight):
// the read-back may predate it.
Verdict judge_held_user(const DesiredUser& user, HeldIndex& held);

// A repair: what to record of the app's real copy before the delivery that fixes it.
struct Repair {
    enum class Kind {
        kDeliver,   // only a delivery (undelivered changes)
        kRecreate,  // the app lost it: users forget the remote id and are sent as created;
                    // groups are forgotten and sent again with every member
        kRefresh,   // the app holds other values: record them (or nothing), then deliver
    };
    Kind kind = Kind::kDeliver;
    scim::ResourceKind resource = scim::ResourceKind::kUser;
    std::string id;
    std::int64_t version = 0;
    std::optional<boost::json::object> payload;        // kRefresh: what the app holds ({}: unknown)
    std::optional<AccountState> delivered_state;       // kRefresh: the state the app shows
    std::optional<std::vector<std::string>> told_members;  // kRefresh groups: members the app has
};

// The repair for a user verdict (kUndelivered, kMissing, kStale), or nullopt.
std::optional<Repair> user_repair(const DesiredUser& user, const Verdict& verdict);

// ---- storage ----------------------------------------------------------------------------------

struct Recorded {
    std::optional<AppObject> object;
    bool in_flight = false;                 // a delivery is pending or leased
    std::vector<std::string> told_members;  // groups: the members the app was told (canonical ids)
    bool written_since = false;             // the app's copy was written at or after `since`
};

struct GoneObject {  // recorded in the app, gone from the canonical store
    scim::ResourceKind kind = scim::ResourceKind::kUser;
    std::string id;
    AppObject object;
    bool in_flight = false;
};

struct GonePage {
    std::vector<GoneObject> objects;
    std::optional<std::string> next;  // the last object looked at; nullopt: the app has no more
};

// db/pg_reconcile_store implements it.
class ReconcileStore {
public:
    virtual ~ReconcileStore() = default;
    // What the bridge recorded of these resources in the app (every id gets an entry).
    // `since`: an RFC 3339 time for Recorded::written_since, or empty.
    virtual std::unordered_map<std::string, Recorded> recorded(const std::string& tenant_id, const std::string& app_id,
                                                               scim::ResourceKind kind,
                                                               const std::vector<std::string>& ids,
                                                               const std::string& since) = 0;
    // Of the app's next `limit` objects after `after` (resource id order; empty: from the first),
    // those whose canonical resource no longer exists. Paged so that no single statement of a run
    // scans every object of the app (a burst the ingest waits behind).
    virtual GonePage gone(const std::string& tenant_id, const std::string& app_id, const std::string& after,
                          std::size_t limit) = 0;
    // The app's remote id of every user it holds, by canonical id (a resumed run's map of the
    // users walked before the crash).
    virtual std::unordered_map<std::string, std::string> user_remote_ids(const std::string& tenant_id,
                                                                         const std::string& app_id) = 0;
    // Records what the app really holds and enqueues one delivery per repair, in one
    // transaction, and wakes the delivery workers.
    virtual void repair(const std::string& tenant_id, const std::string& app_id,
                        const std::vector<Repair>& repairs) = 0;
};

// ---- webhook resync batches -------------------------------------------------------------------

struct ResyncItem {
    scim::ResourceKind kind = scim::ResourceKind::kUser;
    std::string id;
    std::optional<std::string> remote_id;
    std::int64_t version = 0;              // the version the app was last sent
    std::optional<AccountState> state;     // users: the state the app was last told
};

struct ResyncBatch {
    std::string tenant_id;
    std::string app_id;
    std::string app_name;
    std::string run_id;
    int number = 1;
    bool final = false;
    std::vector<ResyncItem> items;
};

struct ResyncAnswer {
    bool supported = true;  // false: a 2xx without a JSON answer (the app does not reconcile)
    std::vector<std::string> missing;
    std::vector<std::string> stale;
    struct Extra {
        scim::ResourceKind kind = scim::ResourceKind::kUser;
        std::string id;
    };
    std::vector<Extra> extra;
};

// The body: {id, type: "resync.batch", timestamp, tenant, app: {id, name}, resync: {run, batch,
// final}, resources: [{type, id, remote_id?, version, state?}]}.
boost::json::object resync_batch_body(const ResyncBatch& batch, const std::string& timestamp);

// The answer {missing: [id], stale: [id], extra: [id | {type, id}]} (each optional): listed
// resources the app lacks, listed ones it holds at an older version or in another blocked/in-use
// state, and — on the final batch of a run — what it holds in use that no batch of the run
// listed. At most 1,000,000 extras are read.
scim::Result<ResyncAnswer> parse_resync_answer(const HttpResponse& response);

// Sends one batch, signed like every webhook (Standard Webhooks, webhook-id "rsy_<run>_<n>").
// An error when the app did not answer 2xx (the run reports it; the next run asks again).
scim::Result<ResyncAnswer> send_resync_batch(const WebhookConfig& config, const ResyncBatch& batch,
                                             HttpTransport& transport, WallClock clock = {});

// ---- the three-way diff ---------------------------------------------------------------------

// The three-way diff (directory ↔ canonical ↔ app) of a tenant's latest resync runs, usually dry
// runs: `directory_runs` and `app_runs` are run rows {key, id, dry_run, state, finished_at,
// report} of directory and reconcile jobs. Answers {directories: [summary per source], apps:
// [summary per app], people: [{id?, externalId?, directory?: {change, attributes?}, apps:
// {<app name>: {drift, attributes?}}}]}: each person named in a report's samples once, with what
// the directory would change in the canonical store and what each app lacks or holds otherwise.
// People are matched across reports by canonical id, or by externalId for directory creates
// and app orphans (SCIM apps hold the canonical id as externalId).
boost::json::object three_way_diff(const boost::json::array& directory_runs, const boost::json::array& app_runs);

}  // namespace scimbridge::mappers
