#pragma once
// Directory pulls: reading users and groups (with members) from directories that cannot push
// (Google Workspace's Admin SDK Directory API, Microsoft Graph, any SCIM 2.0 service provider)
// and turning them into canonical SCIM users and groups; plus the pure plan that compares a
// pulled snapshot with what the bridge holds. Sources are clients over the HttpTransport port
// (unit-tested with a scripted transport); the plan touches no I/O at all.
//
// A pulled user's `resource` is a canonical SCIM User. An attribute the source manages but the
// person lacks is a JSON null (RFC 7644 §3.5.1: null means unassigned), so the plan can clear a
// value the source removed without touching attributes the source never supplies (those set by
// another path). An attribute absent from the resource is "not supplied": never compared.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "mappers/connector.hpp"
#include "mappers/http_transport.hpp"
#include "scim/result.hpp"

namespace scimbridge::mappers {

struct DirectoryUser {
    std::string external_id;  // the source's immutable id (also resource.externalId)
    // Canonical SCIM User JSON: schemas, userName, externalId, name{givenName, familyName,
    // formatted}, displayName, active, emails[{value, type "work", primary true}], phoneNumbers,
    // title and the enterprise extension {department, employeeNumber, costCenter, organization,
    // manager{value = the manager's *source* id}} where the source has them; null where the
    // source manages the attribute and the person has none.
    boost::json::object resource;
};

struct DirectoryGroup {
    std::string external_id;
    std::string display_name;                   // empty in a delta when the source did not send it
    std::vector<std::string> member_user_ids;   // source ids; in a delta: members added
    std::vector<std::string> member_group_ids;  // nested groups
    // Deltas (Graph members@delta): the lists above are changes, not the whole membership.
    bool members_are_delta = false;
    std::vector<std::string> removed_member_user_ids;
    std::vector<std::string> removed_member_group_ids;
};

struct DirectorySnapshot {
    std::vector<DirectoryUser> users;
    std::vector<DirectoryGroup> groups;
    // false for a delta, and for a full listing the source visibly cut short (a SCIM source that
    // listed fewer resources than its totalResults): absence then proves nothing, so no deletions.
    bool complete = true;
    std::vector<std::string> removed_user_ids;   // deltas only: source ids
    std::vector<std::string> removed_group_ids;  // deltas only
    std::string next_state;  // opaque: Graph's delta links (the next pull is a delta); else empty
    int requests = 0;        // HTTP requests the pull sent (token requests included)
};

// One configured directory. pull() keeps state between calls (a cached access token), so a
// source serves one pull at a time.
class DirectorySource {
public:
    virtual ~DirectorySource() = default;
    // state empty: a full pull. Graph: a previous snapshot's next_state asks for a delta (Graph's
    // "resync required", 410, falls back to a full pull). Google and SCIM always pull in full.
    // Errors name what failed (authentication, an HTTP status, bad JSON, a limit) and never hold
    // a secret: 502 for a source that failed or misbehaved, 503 when it asked to slow down
    // (429/503; the detail carries Retry-After: the caller retries the run later), 400
    // invalidValue for an unreadable state.
    virtual scim::Result<DirectorySnapshot> pull(HttpTransport& transport,
                                                 std::string_view state) = 0;
};

// Decodes a source's configuration and builds it (400 invalidValue naming the field when a field
// is missing, of the wrong type, out of range or unknown):
//   common:  max_users (default 2,000,000), max_groups (default 1,000,000), max_pages per listing
//            (default 100,000), timeout_seconds per request (default 30, 1-300)
//   {"kind": "google", "service_account": {client_email, private_key (PEM RSA),
//        token_uri (default https://oauth2.googleapis.com/token), private_key_id (optional: the
//        JWT kid), other fields of Google's key file ignored}, "subject": admin to impersonate,
//        "customer" (default "my_customer"), "base_url" (default https://admin.googleapis.com)}
//   {"kind": "graph", tenant_id, client_id, client_secret,
//        login_url (default https://login.microsoftonline.com),
//        graph_url (default https://graph.microsoft.com)}
//   {"kind": "scim", base_url, bearer_token, page_size (default 500, 1-1000),
//        sort_by (default "id"; "" sends none)}
// The clock dates JWTs and decides when a cached access token must be renewed.
scim::Result<std::unique_ptr<DirectorySource>> make_directory_source(
    const boost::json::object& config, WallClock clock = {});

// ---- The plan ---------------------------------------------------------------------------------

// A resource the bridge holds that came from this source (the caller passes only those).
struct CanonicalEntry {
    std::string id;           // canonical id
    std::string external_id;  // the source id it was created from; empty: never matched
    std::int64_t version = 0;
    boost::json::object resource;  // users: the SCIM User; groups: {displayName, members[...]}
};

// A pulled group with its members resolved to canonical ids where they exist.
struct PlannedGroup {
    std::string external_id;
    std::string display_name;  // empty: keep the current one (a delta that did not send it)
    bool members_are_delta = false;
    // Full: the whole membership. Delta: members to add (those not already members).
    std::vector<std::string> member_user_ids;   // canonical ids
    std::vector<std::string> member_group_ids;  // canonical ids
    // Members this plan creates: source ids the caller resolves once they exist (to add).
    std::vector<std::string> pending_user_ids;
    std::vector<std::string> pending_group_ids;
    // Delta: canonical ids to remove (those currently members).
    std::vector<std::string> removed_member_user_ids;
    std::vector<std::string> removed_member_group_ids;
    // Source ids that match nothing pulled or held (e.g. a member outside the customer): left out.
    std::vector<std::string> unknown_member_ids;
};

struct SyncPlan {
    // Users: create with `resource` (nulls removed, manager resolved or left to pending_managers);
    // update with apply_pulled(current, user.resource).
    std::vector<DirectoryUser> create_users;
    std::vector<std::pair<std::string /*canonical id*/, DirectoryUser>> update_users;
    std::vector<std::string> delete_user_ids;  // canonical ids
    std::vector<PlannedGroup> create_groups;
    std::vector<std::pair<std::string /*canonical id*/, PlannedGroup>> update_groups;
    std::vector<std::string> delete_group_ids;  // canonical ids
    // Managers created by this plan: (user's source id, manager's source id); set the manager
    // once both exist. The planned resources leave such a manager out.
    std::vector<std::pair<std::string, std::string>> pending_managers;
    int unchanged = 0;  // users and groups matched with nothing to change
};

// Pure. Matches by externalId (exact). Updates only what differs among the attributes the source
// supplies (nulls included: they clear); attributes it does not supply are never compared.
// Deletes only what a complete snapshot lacks (entries with an externalId) or a delta names.
// A user's manager and a group's members are resolved from source ids to canonical ids. The
// order is deterministic: creates and updates by external id, deletes by canonical id.
SyncPlan plan_directory_sync(const DirectorySnapshot& snapshot,
                             const std::vector<CanonicalEntry>& users,
                             const std::vector<CanonicalEntry>& groups);

// The canonical resource after a pulled update: each supplied attribute replaces the current one
// (complex attributes and extensions member by member, multi-valued ones whole), a null removes
// it, the rest stays; the extension URN joins `schemas` when the pulled data carries one.
boost::json::object apply_pulled(const boost::json::object& current,
                                 const boost::json::object& pulled);

// True when applying `pulled` would change `current` (the comparison the plan makes; multi-valued
// attributes compare as sets, each pulled element matching on the sub-attributes it has).
bool pulled_differs(const boost::json::object& current, const boost::json::object& pulled);

}  // namespace scimbridge::mappers
