#pragma once
// An in-memory ResourceStore for unit tests of the resource service and above. Versions,
// timestamps and optimistic concurrency behave as in the PostgreSQL store (insert: version 1,
// created = lastModified = the write's timestamp; update: version + 1, 412 when expected_version
// no longer matches). Filters are ignored: list pages through every resource of the kind.

#include "scim/patch.hpp"
#include "scim/resource_store.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace scimbridge::tests {

class InMemoryResourceStore final : public scim::ResourceStore {
public:
    scim::Result<scim::StoredResource> insert(const std::string& tenant_id,
                                              const scim::WriteRequest& w) override {
        const Key key{tenant_id, w.kind, w.id};
        if (rows_.count(key) != 0) {
            return scim::Error::uniqueness("id collision");
        }
        Row row;
        row.resource.id = w.id;
        row.resource.external_id = w.external_id;
        row.resource.document = w.document;
        row.resource.schemas = w.schemas;
        row.resource.version = 1;
        row.resource.created = w.timestamp;
        row.resource.last_modified = w.timestamp;
        if (auto r = apply_steps(tenant_id, w, row.members); !r) {
            return r.error();
        }
        rows_[key] = row;
        writes.push_back(w);
        return read(w.kind, row, w.load);
    }

    scim::Result<scim::StoredResource> update(const std::string& tenant_id,
                                              const scim::WriteRequest& w) override {
        const auto it = rows_.find(Key{tenant_id, w.kind, w.id});
        if (it == rows_.end()) {
            return scim::Error::not_found(w.id + " not found");
        }
        Row& row = it->second;
        if (concurrent_writes > 0) {
            --concurrent_writes;
            ++row.resource.version;  // another writer got there first
        }
        if (w.expected_version && *w.expected_version != row.resource.version) {
            return scim::Error::precondition_failed("resource has changed since it was read");
        }
        std::vector<scim::MemberRef> members = row.members;
        if (auto r = apply_steps(tenant_id, w, members); !r) {
            return r.error();
        }
        const bool members_changed = members.size() != row.members.size() ||
                                     !std::equal(members.begin(), members.end(), row.members.begin(),
                                                 [](const scim::MemberRef& a, const scim::MemberRef& b) {
                                                     return a.value == b.value;
                                                 });
        if (w.skip_if_unchanged && !w.attributes_changed && !members_changed) {
            return read(w.kind, row, w.load);
        }
        if (w.attributes_changed) {
            row.resource.external_id = w.external_id;
            row.resource.document = w.document;
            row.resource.schemas = w.schemas;
        }
        row.resource.last_modified = w.timestamp;
        ++row.resource.version;
        row.members = std::move(members);
        writes.push_back(w);
        return read(w.kind, row, w.load);
    }

    scim::Result<void> remove(const std::string& tenant_id, scim::ResourceKind kind,
                              const std::string& id, std::optional<std::int64_t> expected_version,
                              const std::string& /*timestamp*/) override {
        const auto it = rows_.find(Key{tenant_id, kind, id});
        if (it == rows_.end()) {
            return scim::Error::not_found(id + " not found");
        }
        if (expected_version && *expected_version != it->second.resource.version) {
            return scim::Error::precondition_failed("resource has changed since it was read");
        }
        rows_.erase(it);
        return {};
    }

    std::optional<scim::StoredResource> find(const std::string& tenant_id, scim::ResourceKind kind,
                                             const std::string& id,
                                             const scim::LoadOptions& load) override {
        const auto it = rows_.find(Key{tenant_id, kind, id});
        if (it == rows_.end()) {
            return std::nullopt;
        }
        return read(kind, it->second, load);
    }

    scim::Result<scim::Page> list(const std::string& tenant_id,
                                  const scim::ListRequest& request) override {
        lists.push_back(request);
        lists.back().filter = nullptr;  // the caller's filter does not outlive the call
        had_filter.push_back(request.filter != nullptr);
        scim::Page page;
        std::int64_t total = 0;
        for (const auto& [key, row] : rows_) {
            if (std::get<0>(key) != tenant_id || std::get<1>(key) != request.kind) {
                continue;
            }
            ++total;
            const std::int64_t position = total;  // 1-based
            if (position >= request.start_index &&
                position < request.start_index + request.count) {
                page.resources.push_back(read(request.kind, row, request.load));
            }
        }
        page.total_results = total;
        return page;
    }

    std::vector<scim::WriteRequest> writes;  // every successful insert and update, in order
    std::vector<scim::ListRequest> lists;    // every list request (filter cleared)
    std::vector<bool> had_filter;            // whether each list request carried a filter
    int concurrent_writes = 0;  // this many updates find the version bumped by another writer

private:
    using Key = std::tuple<std::string, scim::ResourceKind, std::string>;

    scim::Result<void> apply_steps(const std::string& tenant_id, const scim::WriteRequest& w,
                                   std::vector<scim::MemberRef>& members) const {
        const auto type_of = [&](const std::string& id) -> std::optional<std::string> {
            for (const auto& [key, row] : rows_) {
                if (std::get<0>(key) == tenant_id && std::get<2>(key) == id) {
                    return std::get<1>(key) == scim::ResourceKind::kUser ? "User" : "Group";
                }
            }
            return std::nullopt;
        };
        const scim::SchemaRegistry& core = scim::SchemaRegistry::core();
        return scim::apply_member_steps(members, w.member_steps, w.id, type_of, core,
                                        *core.resource_type("Group"));
    }

    struct Row {
        scim::StoredResource resource;
        std::vector<scim::MemberRef> members;
    };

    static scim::StoredResource read(scim::ResourceKind kind, const Row& row,
                                     const scim::LoadOptions& load) {
        scim::StoredResource out = row.resource;
        if (kind == scim::ResourceKind::kGroup && load.members) {
            out.members = row.members;
            for (scim::MemberRef& m : *out.members) {
                if (m.type.empty()) {
                    m.type = "User";  // the store infers the type of an untyped member
                }
            }
        }
        if (kind == scim::ResourceKind::kUser && load.groups) {
            out.groups.emplace();
        }
        return out;
    }

    std::map<Key, Row> rows_;
};

}  // namespace scimbridge::tests
