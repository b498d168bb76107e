#pragma once
// The storage port of the resource service; db/ implements it. One call = one transaction: a
// write also records its change event (tenant, resource, new version, operation, changed
// attribute names) for the fan-out.

#include "scim/cursor.hpp"
#include "scim/filter.hpp"
#include "scim/result.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scimbridge::scim {

enum class ResourceKind { kUser, kGroup };
std::string_view resource_type_id(ResourceKind kind);  // "User" / "Group"

struct MemberRef {
    std::string value;    // member id
    std::string type;     // "User" or "Group" (empty on input: inferred)
    std::string display;  // filled on read
};

struct GroupRef {
    std::string value;
    std::string display;
    bool direct = true;
};

struct StoredResource {
    std::string id;
    std::optional<std::string> external_id;
    boost::json::object document;  // attributes without id, meta, members, groups
    std::vector<std::string> schemas;
    std::int64_t version = 0;
    std::string created;        // RFC 3339 UTC
    std::string last_modified;
    std::optional<std::vector<MemberRef>> members;  // groups, when loaded
    std::optional<std::vector<GroupRef>> groups;    // users, when loaded
};

struct LoadOptions {
    bool members = false;  // groups: read membership rows
    bool groups = false;   // users: compute direct and indirect groups
};

// One set-based change to a group's member rows; a write runs its steps in order. Adding or
// removing members costs the size of the change, never the size of the group (DESIGN §4).
struct MemberStep {
    enum class Kind { kAdd, kRemove, kRemoveAll, kRemoveMatching, kReplace };
    Kind kind = Kind::kAdd;
    std::vector<MemberRef> members;        // kAdd, kReplace: value (and type, possibly empty)
    std::vector<std::string> ids;          // kRemove: lower-case member ids
    std::shared_ptr<const Filter> filter;  // kRemoveMatching: over value, type and display
};

struct ChangeEvent {
    std::string operation;                   // create, replace, delete
    std::vector<std::string> changed;        // attribute names
};

struct WriteRequest {
    ResourceKind kind = ResourceKind::kUser;
    std::string id;
    std::optional<std::string> external_id;
    boost::json::object document;
    std::vector<std::string> schemas;
    // Groups: member changes, in order (PUT: one kReplace; POST: one kAdd). Unknown member ids
    // → 400 invalidValue and nothing is written. When rows change, the event names "members".
    std::vector<MemberStep> member_steps;
    std::string timestamp;                   // becomes meta.lastModified (and created on insert)
    std::optional<std::int64_t> expected_version;  // optimistic concurrency; none: any version
    ChangeEvent event;
    // update: false keeps the stored attributes (document, externalId, schemas) as they are; the
    // request still carries them (unchanged), and they make up the returned resource.
    bool attributes_changed = true;
    // update: a write that changes nothing (no attributes, no member rows) is not written: no
    // new version, no change event (PATCH).
    bool skip_if_unchanged = false;
    LoadOptions load;  // what the returned resource carries
};

class SchemaRegistry;

// A PATCH that only sets or clears top-level singular simple attributes of a user (IdPs'
// deactivations and profile tweaks), already validated: the store can apply it in one statement
// without the resource being read first.
struct ScalarPatch {
    boost::json::object set;            // canonical attribute name → value
    std::vector<std::string> removed;   // canonical attribute names
};

struct ListRequest {
    ResourceKind kind = ResourceKind::kUser;
    const SchemaRegistry* registry = nullptr;  // the tenant's; null: the core registry
    const Filter* filter = nullptr;  // may be null
    std::int64_t start_index = 1;    // 1-based (ignored with a cursor)
    std::int64_t count = 100;        // 0: totalResults only
    LoadOptions load;
    std::optional<AttrPath> sort_by;  // none: by id
    bool descending = false;
    // Keyset paging (RFC 9865): `cursor_mode` set; `after` empty for the first page, else the
    // row the page continues from (forward) or ends before (backward).
    bool cursor_mode = false;
    std::optional<Cursor> after;
    // Where the page's documents are allocated: the heap by default; a request handler passes
    // its arena (a page of 1,000 users is tens of thousands of small values, all freed at once).
    // Values in an arena must not be used from two threads at once.
    boost::json::storage_ptr storage;
};

struct Page {
    std::optional<std::int64_t> total_results;  // omitted on cursor pages after the first
    std::vector<StoredResource> resources;
    // Cursor mode: the sort key (as text) of each returned resource, and whether more rows
    // follow in the direction of travel.
    std::vector<std::optional<std::string>> sort_keys;
    bool more = false;
    std::optional<std::string> next_cursor;
    std::optional<std::string> previous_cursor;
};

class ResourceStore {
public:
    virtual ~ResourceStore() = default;
    // 409 uniqueness (userName, externalId); 400 invalidValue for unknown member ids.
    virtual Result<StoredResource> insert(const std::string& tenant_id, const WriteRequest& w) = 0;
    // 404 when gone; 412 when expected_version no longer matches.
    virtual Result<StoredResource> update(const std::string& tenant_id, const WriteRequest& w) = 0;
    // 404 when gone; 412 when expected_version does not match.
    virtual Result<void> remove(const std::string& tenant_id, ResourceKind kind,
                                const std::string& id, std::optional<std::int64_t> expected_version,
                                const std::string& timestamp) = 0;
    virtual std::optional<StoredResource> find(const std::string& tenant_id, ResourceKind kind,
                                               const std::string& id, const LoadOptions& load) = 0;
    // The resources of `ids` that exist, in no particular order (a store may read them at once).
    virtual std::vector<StoredResource> find_many(const std::string& tenant_id, ResourceKind kind,
                                                  const std::vector<std::string>& ids, const LoadOptions& load) {
        std::vector<StoredResource> out;
        for (const std::string& id : ids) {
            if (auto r = find(tenant_id, kind, id, load)) {
                out.push_back(std::move(*r));
            }
        }
        return out;
    }
    // 400 invalidFilter for filters the store cannot run.
    virtual Result<Page> list(const std::string& tenant_id, const ListRequest& request) = 0;
    // Applies a ScalarPatch to user `id` in one statement (new version and "patch" event), and
    // returns the user (with `load`). nullopt when it wrote nothing — no such user, or nothing
    // would change — or the store has no such shortcut: the caller then takes the general path.
    virtual Result<std::optional<StoredResource>> patch_user_scalars(
        const std::string& /*tenant_id*/, const std::string& /*id*/, const ScalarPatch& /*patch*/,
        const std::string& /*timestamp*/, const LoadOptions& /*load*/) {
        return std::optional<StoredResource>();
    }
};

class Clock {
public:
    virtual ~Clock() = default;
    virtual std::string now_rfc3339() const = 0;  // e.g. 2026-11-22T10:51:12.029Z
    // Unix seconds; by default read from now_rfc3339().
    virtual std::int64_t now_seconds() const;
};

class IdGenerator {
public:
    virtual ~IdGenerator() = default;
    virtual std::string next_id() = 0;  // a UUID
};

}  // namespace scimbridge::scim
