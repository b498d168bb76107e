#include "scim/resource_service.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <ctime>

namespace scimbridge::scim {

namespace json = boost::json;

std::string_view resource_type_id(ResourceKind kind) {
    return kind == ResourceKind::kUser ? "User" : "Group";
}

std::int64_t Clock::now_seconds() const {
    const std::string t = now_rfc3339();
    std::tm tm{};
    tm.tm_year = std::stoi(t.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(t.substr(5, 2)) - 1;
    tm.tm_mday = std::stoi(t.substr(8, 2));
    tm.tm_hour = std::stoi(t.substr(11, 2));
    tm.tm_min = std::stoi(t.substr(14, 2));
    tm.tm_sec = std::stoi(t.substr(17, 2));
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string etag_of(std::int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

bool etag_matches(std::string_view header, std::int64_t version) {
    const std::string weak = etag_of(version);
    const std::string strong = "\"" + std::to_string(version) + "\"";
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = header.find(',', pos);
        if (end == std::string_view::npos) {
            end = header.size();
        }
        std::string_view tag = header.substr(pos, end - pos);
        while (!tag.empty() && tag.front() == ' ') {
            tag.remove_prefix(1);
        }
        while (!tag.empty() && tag.back() == ' ') {
            tag.remove_suffix(1);
        }
        // Weak comparison (RFC 7232 §2.3.2): W/"3" and "3" name the same version.
        if (tag == "*" || tag == weak || tag == strong) {
            return true;
        }
        pos = end + 1;
    }
    return false;
}

namespace {

const ResourceType& type_of(const CallContext& ctx, ResourceKind kind) {
    return *ctx.registry->resource_type(resource_type_id(kind));
}

// The member rows a POST or PUT body asks for: one step that adds them (POST) or makes them the
// whole list (PUT).
std::vector<MemberStep> member_steps_of(const NormalizedResource& n, MemberStep::Kind kind) {
    MemberStep step;
    step.kind = kind;
    for (const auto& [value, type] : n.members.value_or(
             std::vector<std::pair<std::string, std::string>>{})) {
        step.members.push_back({value, type, ""});
    }
    if (kind == MemberStep::Kind::kAdd && step.members.empty()) {
        return {};
    }
    return {std::move(step)};
}

Result<void> check_path(const SchemaRegistry& registry, const ResourceType& type,
                        const AttrPath& path, const AttrPath* parent) {
    const AttrPath& top = parent != nullptr ? *parent : path;
    const std::string& attr = parent != nullptr ? parent->attr : path.attr;
    if (top.urn.empty() || iequals(top.urn, type.schema)) {
        if (parent == nullptr && (iequals(attr, "id") || iequals(attr, "externalId"))) {
            return {};
        }
        if (parent == nullptr && iequals(attr, "meta")) {
            static const char* kMeta[] = {"created", "lastModified", "resourceType", "location",
                                          "version"};
            for (const char* m : kMeta) {
                if (iequals(path.sub, m)) {
                    return {};
                }
            }
            return Error::invalid_filter("unknown attribute " + path.to_string());
        }
    }
    const bool own = top.urn.empty() || iequals(top.urn, type.schema) ||
                     std::any_of(type.extensions.begin(), type.extensions.end(),
                                 [&](const SchemaExtension& e) { return iequals(e.schema, top.urn); });
    if (!own) {
        return Error::invalid_filter(top.urn + " is not a schema of " + type.name);
    }
    const Schema* schema = top.urn.empty() ? registry.schema(type.schema) : registry.schema(top.urn);
    const AttributeDef* def = schema == nullptr ? nullptr : schema->attribute(attr);
    if (def == nullptr) {
        return Error::invalid_filter("unknown attribute " + top.to_string());
    }
    const std::string& sub = parent != nullptr ? path.attr : path.sub;
    if (!sub.empty() && def->sub(sub) == nullptr) {
        return Error::invalid_filter("unknown attribute " + attr + "." + sub);
    }
    return {};
}

Result<void> check_node(const SchemaRegistry& registry, const ResourceType& type,
                        const Filter& f, const AttrPath* parent) {
    switch (f.kind) {
        case Filter::Kind::kCompare:
        case Filter::Kind::kPresent:
            return check_path(registry, type, f.path, parent);
        case Filter::Kind::kAnd:
        case Filter::Kind::kOr: {
            auto l = check_node(registry, type, *f.left, parent);
            if (!l) {
                return l;
            }
            return check_node(registry, type, *f.right, parent);
        }
        case Filter::Kind::kNot:
            return check_node(registry, type, *f.left, parent);
        case Filter::Kind::kValuePath: {
            auto p = check_path(registry, type, f.path, nullptr);
            if (!p) {
                return p;
            }
            return check_node(registry, type, *f.left, &f.path);
        }
    }
    return {};
}

}  // namespace

Result<void> check_filter_attributes(const SchemaRegistry& registry, const ResourceType& type,
                                     const Filter& filter) {
    return check_node(registry, type, filter, nullptr);
}

Result<StoredResource> ResourceService::create(const CallContext& ctx, ResourceKind kind,
                                               const json::value& body) {
    const ResourceType& type = type_of(ctx, kind);
    auto normalized = normalize_resource(*ctx.registry, type, body, ctx.leniency, ctx.rewrites);
    if (!normalized) {
        return normalized.error();
    }
    WriteRequest w;
    w.kind = kind;
    w.id = ids_.next_id();
    w.external_id = normalized->external_id;
    w.schemas = normalized->schemas;
    if (kind == ResourceKind::kGroup) {
        w.member_steps = member_steps_of(*normalized, MemberStep::Kind::kAdd);
        w.load.members = true;
    }
    w.timestamp = clock_.now_rfc3339();
    w.event.operation = "create";
    for (const auto& [key, value] : normalized->document) {
        w.event.changed.emplace_back(key);
    }
    if (w.external_id) {
        w.event.changed.emplace_back("externalId");
    }
    if (!w.member_steps.empty()) {
        w.event.changed.emplace_back("members");
    }
    w.document = std::move(normalized->document);
    return store_.insert(ctx.tenant_id, w);
}

Result<StoredResource> ResourceService::read_for_write(const CallContext& ctx, ResourceKind kind,
                                                       const std::string& id,
                                                       std::string_view if_match) {
    auto current = store_.find(ctx.tenant_id, kind, id, {});
    if (!current) {
        return Error::not_found(std::string(resource_type_id(kind)) + " " + id + " not found");
    }
    if (!if_match.empty() && !etag_matches(if_match, current->version)) {
        return Error::precondition_failed("resource has changed: version is " +
                                          etag_of(current->version));
    }
    return std::move(*current);
}

Result<StoredResource> ResourceService::get(const CallContext& ctx, ResourceKind kind,
                                            const std::string& id, const LoadOptions& load) {
    auto found = store_.find(ctx.tenant_id, kind, id, load);
    if (!found) {
        return Error::not_found(std::string(resource_type_id(kind)) + " " + id + " not found");
    }
    return std::move(*found);
}

Result<StoredResource> ResourceService::replace(const CallContext& ctx, ResourceKind kind,
                                                const std::string& id, const json::value& body,
                                                std::string_view if_match,
                                                const LoadOptions& load) {
    const ResourceType& type = type_of(ctx, kind);
    auto normalized = normalize_resource(*ctx.registry, type, body, ctx.leniency, ctx.rewrites);
    if (!normalized) {
        return normalized.error();
    }
    // A concurrent writer may bump the version between our read and our write; without an
    // If-Match from the client that is not the client's problem, so read again and retry.
    constexpr int kAttempts = 3;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        auto current = read_for_write(ctx, kind, id, if_match);
        if (!current) {
            return current.error();
        }
        auto immutable = check_immutable(*ctx.registry, type, current->document, normalized->document);
        if (!immutable) {
            return immutable.error();
        }
        WriteRequest w;
        w.kind = kind;
        w.id = id;
        w.external_id = normalized->external_id;
        w.schemas = normalized->schemas;
        w.document = normalized->document;
        if (kind == ResourceKind::kGroup) {
            // PUT replaces: no members key means no members. The difference is computed in the
            // database (the store adds "members" to the event when rows changed).
            w.member_steps = member_steps_of(*normalized, MemberStep::Kind::kReplace);
        }
        w.timestamp = clock_.now_rfc3339();
        w.expected_version = current->version;
        w.load = load;
        w.event.operation = "replace";
        w.event.changed = changed_attributes(current->document, w.document);
        if (current->external_id != w.external_id) {
            w.event.changed.emplace_back("externalId");
        }
        auto updated = store_.update(ctx.tenant_id, w);
        if (updated || updated.error().status != 412 || !if_match.empty()) {
            return updated;
        }
    }
    return Error::precondition_failed("resource is being changed concurrently; retry");
}

Result<StoredResource> ResourceService::patch(const CallContext& ctx, ResourceKind kind,
                                              const std::string& id, const json::value& body,
                                              std::string_view if_match, const LoadOptions& load) {
    const ResourceType& type = type_of(ctx, kind);
    RewriteLog local;
    RewriteLog& log = ctx.rewrites != nullptr ? *ctx.rewrites : local;
    auto request = decode_patch(body, ctx.dialect, log);
    if (!request) {
        return request.error();
    }
    if (kind == ResourceKind::kUser && if_match.empty()) {
        // The IdPs' most common PATCH (deactivate, a profile field): one statement, no read.
        if (auto scalars = scalar_patch(*ctx.registry, type, *request, ctx.leniency, log)) {
            auto written = store_.patch_user_scalars(ctx.tenant_id, id, *scalars, clock_.now_rfc3339(), load);
            if (!written) {
                return written.error();
            }
            if (*written) {
                return std::move(**written);
            }
        }
    }
    constexpr int kAttempts = 5;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
        auto current = read_for_write(ctx, kind, id, if_match);
        if (!current) {
            return current.error();
        }
        auto outcome = apply_patch(*ctx.registry, type, *current, *request, ctx.dialect,
                                   ctx.leniency, log);
        if (!outcome) {
            return outcome.error();
        }
        if (!outcome->attributes_changed && outcome->member_steps.empty()) {
            // Nothing changes: no new version, no change event.
            if (load.members || load.groups) {
                if (auto again = store_.find(ctx.tenant_id, kind, id, load)) {
                    return std::move(*again);
                }
            }
            return std::move(*current);
        }
        WriteRequest w;
        w.kind = kind;
        w.id = id;
        w.external_id = outcome->external_id;
        w.schemas = std::move(outcome->schemas);
        w.document = std::move(outcome->document);
        w.member_steps = std::move(outcome->member_steps);
        w.attributes_changed = outcome->attributes_changed;
        w.skip_if_unchanged = true;
        // Member changes commute with each other and with attribute changes: only a PATCH that
        // rewrites attributes (or that the client made conditional) needs the version it read.
        if (outcome->attributes_changed || !if_match.empty()) {
            w.expected_version = current->version;
        }
        w.timestamp = clock_.now_rfc3339();
        w.load = load;
        w.event.operation = "patch";
        w.event.changed = std::move(outcome->changed);
        auto updated = store_.update(ctx.tenant_id, w);
        if (updated || updated.error().status != 412 || !if_match.empty()) {
            return updated;
        }
    }
    return Error::precondition_failed("resource is being changed concurrently; retry");
}

Result<void> ResourceService::remove(const CallContext& ctx, ResourceKind kind,
                                     const std::string& id, std::string_view if_match) {
    std::optional<std::int64_t> expected;
    if (!if_match.empty()) {
        auto current = read_for_write(ctx, kind, id, if_match);
        if (!current) {
            return current.error();
        }
        expected = current->version;
    }
    return store_.remove(ctx.tenant_id, kind, id, expected, clock_.now_rfc3339());
}

Result<Page> ResourceService::list(const CallContext& ctx, ResourceKind kind,
                                   const ListParams& params) {
    FilterPtr filter;
    if (!params.filter.empty()) {
        auto parsed = parse_filter(params.filter);
        if (!parsed) {
            return parsed.error();
        }
        auto known = check_filter_attributes(*ctx.registry, type_of(ctx, kind), **parsed);
        if (!known) {
            return known.error();
        }
        filter = std::move(*parsed);
    }
    ListRequest request;
    request.kind = kind;
    request.registry = ctx.registry;
    request.filter = filter.get();
    request.start_index = std::max<std::int64_t>(1, params.start_index);  // RFC 7644 §3.4.2.4
    request.count = std::clamp<std::int64_t>(params.count, 0, limits_.max_count);
    request.load = params.load;
    request.descending = params.descending;
    request.storage = params.storage;
    if (!params.sort_by.empty()) {
        auto path = parse_attr_path(params.sort_by);
        if (!path) {
            return Error::invalid_value("sortBy '" + params.sort_by + "' is not an attribute");
        }
        Filter probe;
        probe.kind = Filter::Kind::kPresent;
        probe.path = *path;
        if (!check_filter_attributes(*ctx.registry, type_of(ctx, kind), probe)) {
            return Error::invalid_value("sortBy names an unknown attribute: " + params.sort_by);
        }
        request.sort_by = std::move(*path);
    }
    const std::uint64_t query = query_fingerprint(params.filter, params.sort_by, params.descending);
    if (params.cursor) {
        request.cursor_mode = true;
        if (!params.cursor->empty()) {
            auto cursor = decode_cursor(*params.cursor, query, clock_.now_seconds(),
                                        limits_.cursor_timeout_seconds);
            if (!cursor) {
                return cursor.error();
            }
            request.after = std::move(*cursor);
        }
    }
    auto page = store_.list(ctx.tenant_id, request);
    if (!page || !request.cursor_mode || page->resources.empty()) {
        return page;
    }
    // Cursors for the rows at both ends of the page (RFC 9865 nextCursor / previousCursor).
    const auto make = [&](std::size_t i, bool backward) {
        Cursor c;
        c.key = page->sort_keys[i];
        c.key_null = request.sort_by.has_value() && !page->sort_keys[i].has_value();
        c.id = page->resources[i].id;
        c.backward = backward;
        c.issued = clock_.now_seconds();
        c.query = query;
        return encode_cursor(c);
    };
    const bool backward = request.after && request.after->backward;
    const bool more_after = backward ? true : page->more;
    const bool more_before = backward ? page->more : request.after.has_value();
    if (more_after) {
        page->next_cursor = make(page->resources.size() - 1, false);
    }
    if (more_before) {
        page->previous_cursor = make(0, true);
    }
    return page;
}

json::object render_resource(const ResourceType& type, StoredResource r,
                             const std::string& base_url) {
    const json::storage_ptr sp = r.document.storage();
    json::object out(sp);
    out.reserve(r.document.size() + 6);
    json::array schemas(sp);
    for (const std::string& s : r.schemas) {
        schemas.emplace_back(s);
    }
    out["schemas"] = std::move(schemas);
    out["id"] = r.id;
    if (r.external_id) {
        out["externalId"] = *r.external_id;
    }
    for (json::key_value_pair& kv : r.document) {
        out[kv.key()] = std::move(kv.value());
    }
    if (r.members) {
        json::array members(sp);
        for (const MemberRef& m : *r.members) {
            json::object o({{"value", m.value},
                            {"$ref", base_url + (m.type == "Group" ? "/Groups/" : "/Users/") + m.value},
                            {"type", m.type}},
                           sp);
            if (!m.display.empty()) {
                o["display"] = m.display;
            }
            members.emplace_back(std::move(o));
        }
        out["members"] = std::move(members);
    }
    if (r.groups && !r.groups->empty()) {
        json::array groups(sp);
        for (const GroupRef& g : *r.groups) {
            json::object o({{"value", g.value},
                            {"$ref", base_url + "/Groups/" + g.value},
                            {"type", g.direct ? "direct" : "indirect"}},
                           sp);
            if (!g.display.empty()) {
                o["display"] = g.display;
            }
            groups.emplace_back(std::move(o));
        }
        out["groups"] = std::move(groups);
    }
    out["meta"] = json::object({{"resourceType", type.id},
                                {"created", r.created},
                                {"lastModified", r.last_modified},
                                {"location", base_url + type.endpoint + "/" + r.id},
                                {"version", etag_of(r.version)}},
                               sp);
    return out;
}

}  // namespace scimbridge::scim
