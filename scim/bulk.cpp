#include "scim/bulk.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace scimbridge::scim {

namespace json = boost::json;

namespace {

constexpr std::string_view kBulkIdPrefix = "bulkId:";

struct Op {
    std::string method;
    std::string path;
    std::optional<std::string> bulk_id;
    std::string version;  // If-Match for PUT, PATCH and DELETE
    json::value data;
    std::vector<std::string> refs;  // bulkIds this operation names
    std::optional<Error> invalid;
};

void collect_refs(const json::value& v, std::vector<std::string>& out, int depth = 0) {
    if (depth > 64) {
        return;
    }
    if (v.is_string() && v.as_string().starts_with(kBulkIdPrefix)) {
        out.emplace_back(v.as_string().subview(kBulkIdPrefix.size()));
    } else if (v.is_array()) {
        for (const json::value& e : v.as_array()) {
            collect_refs(e, out, depth + 1);
        }
    } else if (v.is_object()) {
        for (const auto& kv : v.as_object()) {
            collect_refs(kv.value(), out, depth + 1);
        }
    }
}

json::value substitute(const json::value& v, const std::map<std::string, std::string>& ids) {
    if (v.is_string() && v.as_string().starts_with(kBulkIdPrefix)) {
        const auto it = ids.find(std::string(v.as_string().subview(kBulkIdPrefix.size())));
        return it != ids.end() ? json::value(it->second) : v;
    }
    if (v.is_array()) {
        json::array out;
        for (const json::value& e : v.as_array()) {
            out.push_back(substitute(e, ids));
        }
        return out;
    }
    if (v.is_object()) {
        json::object out;
        for (const auto& kv : v.as_object()) {
            out[kv.key()] = substitute(kv.value(), ids);
        }
        return out;
    }
    return v;
}

Op parse_op(const json::value& item, std::size_t index) {
    Op op;
    const std::string where = "Operations[" + std::to_string(index + 1) + "]";
    if (!item.is_object()) {
        op.invalid = Error::invalid_syntax(where + " must be an object");
        return op;
    }
    const json::object& o = item.as_object();
    const json::value* method = find_ci(o, "method");
    if (method != nullptr && method->is_string()) {
        for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
            if (iequals(method->as_string(), m)) {
                op.method = m;
            }
        }
    }
    if (op.method.empty()) {
        op.invalid = Error::invalid_syntax(where + ".method must be POST, PUT, PATCH or DELETE");
        return op;
    }
    const json::value* path = find_ci(o, "path");
    if (path == nullptr || !path->is_string() || !path->as_string().starts_with("/")) {
        op.invalid = Error::invalid_syntax(where + ".path must be a path such as /Users or /Groups/{id}");
        return op;
    }
    op.path = std::string(path->as_string());
    if (const json::value* b = find_ci(o, "bulkId"); b != nullptr) {
        if (!b->is_string() || b->as_string().empty()) {
            op.invalid = Error::invalid_syntax(where + ".bulkId must be a non-empty string");
            return op;
        }
        op.bulk_id = std::string(b->as_string());
    }
    if (op.method == "POST" && !op.bulk_id) {
        op.invalid = Error::invalid_syntax(where + ": POST needs a bulkId (RFC 7644 3.7)");
        return op;
    }
    if (const json::value* v = find_ci(o, "version"); v != nullptr && v->is_string()) {
        op.version = std::string(v->as_string());
    }
    if (const json::value* d = find_ci(o, "data"); d != nullptr) {
        op.data = *d;
    } else if (op.method != "DELETE") {
        op.invalid = Error::invalid_syntax(where + ": " + op.method + " needs data");
        return op;
    }
    collect_refs(json::value(op.path.substr(op.path.rfind('/') + 1)), op.refs);
    collect_refs(op.data, op.refs);
    return op;
}

struct Target {
    ResourceKind kind = ResourceKind::kUser;
    std::string id;  // empty: the collection
};

std::optional<Target> target_of(const std::string& path) {
    std::string_view p = path;
    p.remove_prefix(1);
    const auto slash = p.find('/');
    const std::string_view collection = p.substr(0, slash);
    Target t;
    if (iequals(collection, "Users")) {
        t.kind = ResourceKind::kUser;
    } else if (iequals(collection, "Groups")) {
        t.kind = ResourceKind::kGroup;
    } else {
        return std::nullopt;
    }
    if (slash != std::string_view::npos) {
        t.id = std::string(p.substr(slash + 1));
        if (t.id.empty() || t.id.find('/') != std::string::npos) {
            return std::nullopt;
        }
    }
    return t;
}

}  // namespace

Result<std::vector<BulkOperationResult>> BulkService::run(const CallContext& ctx, const json::value& body,
                                                          const BulkLimits& limits,
                                                          const std::string& base_url) {
    if (!body.is_object()) {
        return Error::invalid_syntax("a BulkRequest is a JSON object (RFC 7644 3.7)");
    }
    const json::object& o = body.as_object();
    bool has_schema = false;
    if (const json::value* s = find_ci(o, "schemas"); s != nullptr && s->is_array()) {
        for (const json::value& x : s->as_array()) {
            has_schema = has_schema || (x.is_string() && iequals(x.as_string(), kBulkRequestSchema));
        }
    }
    if (!has_schema) {
        if (!ctx.dialect.rewrite) {
            return Error::invalid_syntax("schemas must be [\"" + std::string(kBulkRequestSchema) + "\"]");
        }
        if (ctx.rewrites != nullptr) {
            ctx.rewrites->note("schemas_missing");
        }
    }
    const json::value* ops = find_ci(o, "Operations");
    if (ops == nullptr || !ops->is_array()) {
        return Error::invalid_syntax("Operations must be an array (RFC 7644 3.7)");
    }
    if (ops->as_array().size() > limits.max_operations) {
        return Error::payload_too_large("a Bulk request may hold at most " +
                                        std::to_string(limits.max_operations) +
                                        " operations (maxOperations)");
    }
    std::optional<std::size_t> fail_on_errors;
    if (const json::value* f = find_ci(o, "failOnErrors"); f != nullptr && !f->is_null()) {
        if (!f->is_int64() || f->as_int64() < 1) {
            return Error::invalid_value("failOnErrors must be a positive integer");
        }
        fail_on_errors = static_cast<std::size_t>(f->as_int64());
    }

    std::vector<Op> parsed;
    std::map<std::string, std::size_t> defined;  // bulkId → the POST that defines it
    for (std::size_t i = 0; i < ops->as_array().size(); ++i) {
        Op op = parse_op(ops->as_array()[i], i);
        if (!op.invalid && op.bulk_id && op.method == "POST") {
            if (!defined.emplace(*op.bulk_id, i).second) {
                op.invalid = Error::invalid_value("bulkId '" + *op.bulk_id + "' is used twice");
            }
        }
        parsed.push_back(std::move(op));
    }

    std::vector<std::optional<BulkOperationResult>> results(parsed.size());
    std::map<std::string, std::string> created;  // bulkId → resource id
    std::set<std::string> failed;                // bulkIds whose POST failed
    std::size_t errors = 0;
    const auto stop = [&] { return fail_on_errors && errors >= *fail_on_errors; };
    const auto fail = [&](std::size_t i, Error e) {
        BulkOperationResult r;
        r.method = parsed[i].method.empty() ? "POST" : parsed[i].method;
        r.bulk_id = parsed[i].bulk_id;
        r.status = e.status;
        r.error = std::move(e);
        results[i] = std::move(r);
        if (parsed[i].bulk_id && parsed[i].method == "POST") {
            failed.insert(*parsed[i].bulk_id);
        }
        ++errors;
    };

    const auto execute = [&](std::size_t i) {
        const Op& op = parsed[i];
        std::string path = op.path;
        const auto last = path.rfind('/');
        if (path.substr(last + 1).starts_with(kBulkIdPrefix)) {
            path = path.substr(0, last + 1) + created.at(path.substr(last + 1 + kBulkIdPrefix.size()));
        }
        const auto target = target_of(path);
        if (!target || (op.method == "POST") != target->id.empty()) {
            fail(i, Error::invalid_value(op.method + " " + op.path + ": the path must be " +
                                         (op.method == "POST" ? "/Users or /Groups" : "/Users/{id} or /Groups/{id}")));
            return;
        }
        const json::value data = substitute(op.data, created);
        BulkOperationResult r;
        r.method = op.method;
        r.bulk_id = op.bulk_id;
        const std::string collection = base_url + (target->kind == ResourceKind::kUser ? "/Users/" : "/Groups/");
        if (op.method == "DELETE") {
            auto removed = resources_.remove(ctx, target->kind, target->id, op.version);
            if (!removed) {
                fail(i, removed.error());
                return;
            }
            r.location = collection + target->id;
            r.status = 204;
            results[i] = std::move(r);
            return;
        }
        auto written = op.method == "POST"  ? resources_.create(ctx, target->kind, data)
                       : op.method == "PUT" ? resources_.replace(ctx, target->kind, target->id, data, op.version, {})
                                            : resources_.patch(ctx, target->kind, target->id, data, op.version, {});
        if (!written) {
            fail(i, written.error());
            return;
        }
        r.location = collection + written->id;
        r.version = etag_of(written->version);
        r.status = op.method == "POST" ? 201 : 200;
        results[i] = std::move(r);
        if (op.method == "POST") {
            created[*op.bulk_id] = written->id;
        }
    };

    // Passes in request order; an operation waits until every bulkId it names exists, so forward
    // references work. What can never run is in (or behind) a cycle.
    std::vector<std::size_t> pending(parsed.size());
    for (std::size_t i = 0; i < pending.size(); ++i) {
        pending[i] = i;
    }
    bool progress = true;
    while (progress && !pending.empty() && !stop()) {
        progress = false;
        std::vector<std::size_t> waiting;
        for (const std::size_t i : pending) {
            if (stop()) {
                waiting.clear();
                break;
            }
            const Op& op = parsed[i];
            if (op.invalid) {
                fail(i, *op.invalid);
                progress = true;
                continue;
            }
            std::optional<Error> problem;
            bool blocked = false;
            for (const std::string& ref : op.refs) {
                if (!defined.contains(ref)) {
                    problem = Error::invalid_value("bulkId:" + ref + " names no POST in this request");
                } else if (failed.contains(ref)) {
                    problem = Error::conflict("bulkId:" + ref + " was not created");
                } else if (!created.contains(ref)) {
                    blocked = true;
                }
            }
            if (problem) {
                fail(i, *problem);
                progress = true;
            } else if (blocked) {
                waiting.push_back(i);
            } else {
                execute(i);
                progress = true;
            }
        }
        pending = std::move(waiting);
    }
    for (const std::size_t i : pending) {
        if (stop()) {
            break;
        }
        fail(i, Error::conflict("circular bulkId references: " + parsed[i].method + " " + parsed[i].path +
                                " waits for a resource that waits for it"));
    }
    std::vector<BulkOperationResult> out;
    for (auto& r : results) {
        if (r) {
            out.push_back(std::move(*r));
        }
    }
    return out;
}

json::object to_json(const std::vector<BulkOperationResult>& results) {
    json::array ops;
    for (const BulkOperationResult& r : results) {
        json::object o{{"method", r.method}, {"status", std::to_string(r.status)}};
        if (r.bulk_id) {
            o["bulkId"] = *r.bulk_id;
        }
        if (r.location) {
            o["location"] = *r.location;
        }
        if (r.version) {
            o["version"] = *r.version;
        }
        if (r.error) {
            o["response"] = to_json(*r.error);
        }
        ops.emplace_back(std::move(o));
    }
    return json::object{{"schemas", json::array{kBulkResponseSchema}}, {"Operations", std::move(ops)}};
}

}  // namespace scimbridge::scim
