#include "db/filter_sql.hpp"

#include "db/pg_resource_store.hpp"
#include "scim/resource_service.hpp"

#include <boost/json/serialize.hpp>

namespace scimbridge::db {

// Semantics (shared with the in-memory evaluator, scim/filter_eval.hpp, and pinned by a
// differential test): a comparison on a multi-valued path matches when any value does; strings
// compare lower-cased unless caseExact, ordered byte-wise (COLLATE "C"); co/sw/ew are LIKE with
// an escaped, bound pattern; `ne x` is `not (eq x)`; `eq null` is `not pr`; not/and/or are
// two-valued (an absent attribute is simply "no match").

namespace {

using scim::AttrType;
using scim::CompareOp;
using scim::Error;
using scim::Filter;
using scim::iequals;

constexpr std::size_t kMaxComparisons = 100;

// Where a path's values come from.
struct Source {
    enum class Kind { kColumn, kJson, kJsonArray };
    Kind kind = Kind::kJson;
    std::string expr;        // column: typed SQL expression; json: jsonb; array: jsonb array
    std::string element;     // array: the jsonb expression of one value, in terms of `e`
    AttrType type = AttrType::kString;
    bool case_exact = false;
    bool complex = false;    // a singular complex attribute without sub (pr only)
    bool emails_index = false;
};

std::string escape_like(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c == '\\' || c == '%' || c == '_') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

bool is_ordering(CompareOp op) {
    return op == CompareOp::kGt || op == CompareOp::kGe || op == CompareOp::kLt ||
           op == CompareOp::kLe;
}

std::string sql_operator(CompareOp op) {
    switch (op) {
        case CompareOp::kEq: return "=";
        case CompareOp::kNe: return "<>";
        case CompareOp::kGt: return ">";
        case CompareOp::kGe: return ">=";
        case CompareOp::kLt: return "<";
        case CompareOp::kLe: return "<=";
        default: return "=";
    }
}

class Compiler {
public:
    Compiler(scim::ResourceKind kind, const scim::SchemaRegistry& registry, std::size_t first)
        : kind_(kind),
          registry_(registry),
          type_(*registry.resource_type(scim::resource_type_id(kind))),
          next_(first) {}

    scim::Result<std::string> node(const Filter& f, const scim::AttributeDef* parent) {
        switch (f.kind) {
            case Filter::Kind::kAnd:
            case Filter::Kind::kOr: {
                auto l = node(*f.left, parent);
                if (!l) {
                    return l;
                }
                auto r = node(*f.right, parent);
                if (!r) {
                    return r;
                }
                return "(" + *l + (f.kind == Filter::Kind::kAnd ? " AND " : " OR ") + *r + ")";
            }
            case Filter::Kind::kNot: {
                auto inner = node(*f.left, parent);
                if (!inner) {
                    return inner;
                }
                return negate(*inner);
            }
            case Filter::Kind::kPresent:
            case Filter::Kind::kCompare:
                if (++comparisons_ > kMaxComparisons) {
                    return Error::too_many("a filter may hold at most 100 comparisons");
                }
                return comparison(f, parent);
            case Filter::Kind::kValuePath:
                return value_path(f);
        }
        return Error::invalid_filter("unsupported filter");
    }

    std::vector<std::string> params;

    scim::Result<SortSql> sort_key(const scim::AttrPath& path) {
        auto source = resolve(path, nullptr);
        if (!source) {
            return Error::invalid_value("cannot sort by " + path.to_string());
        }
        if (source->kind == Source::Kind::kJsonArray || source->complex ||
            source->type == AttrType::kComplex || source->type == AttrType::kBinary) {
            return Error::invalid_value("sortBy must name a singular attribute, not " + path.to_string());
        }
        const std::string text = source->kind == Source::Kind::kColumn
                                     ? source->expr
                                     : "(" + source->expr + " #>> '{}')";
        switch (source->type) {
            case AttrType::kBoolean:
                return SortSql{"CAST(" + text + " AS boolean)", "boolean"};
            case AttrType::kInteger:
            case AttrType::kDecimal:
                return SortSql{"CAST(" + text + " AS double precision)", "double precision"};
            case AttrType::kDateTime:
                return SortSql{"CAST(" + text + " AS timestamptz)", "timestamptz"};
            default:
                return SortSql{(source->case_exact ? text : "lower(" + text + ")") + " COLLATE \"C\"",
                               "text"};
        }
    }

private:
    static std::string negate(const std::string& sql) { return "(NOT coalesce(" + sql + ", false))"; }

    std::string bind(std::string value) {
        params.push_back(std::move(value));
        return ":p" + std::to_string(next_ + params.size() - 1);
    }

    bool user() const { return kind_ == scim::ResourceKind::kUser; }

    static std::string array_of(const std::string& jsonb) {
        return "jsonb_array_elements(CASE WHEN jsonb_typeof(" + jsonb + ") = 'array' THEN " +
               jsonb + " ELSE '[]'::jsonb END)";
    }

    // Resolves a path (top level, or a sub-attribute inside a value filter on `parent`).
    scim::Result<Source> resolve(const scim::AttrPath& path, const scim::AttributeDef* parent) {
        Source s;
        if (parent != nullptr) {  // inside attr[...]: names are sub-attributes of the element
            const scim::AttributeDef* leaf = parent->sub(path.attr);
            if (leaf == nullptr || !path.sub.empty() || !path.urn.empty()) {
                return Error::invalid_filter("unknown attribute " + path.to_string() + " in " +
                                             parent->name + "[...]");
            }
            s.kind = Source::Kind::kJson;
            s.expr = "(e -> " + bind(leaf->name) + ")";
            s.type = leaf->type;
            s.case_exact = leaf->case_exact;
            return s;
        }
        const bool core = path.urn.empty() || iequals(path.urn, type_.schema);
        const std::string& attr = path.attr;
        const std::string& sub = path.sub;
        if (core && sub.empty() && iequals(attr, "id")) {
            return column("t.id::text", AttrType::kString, false);
        }
        if (core && sub.empty() && iequals(attr, "externalId")) {
            return column("t.external_id", AttrType::kString, true);
        }
        if (core && iequals(attr, "meta")) {
            if (iequals(sub, "created")) {
                return column("t.created_at", AttrType::kDateTime, true);
            }
            if (iequals(sub, "lastModified")) {
                return column("t.modified_at", AttrType::kDateTime, true);
            }
            return Error::invalid_filter("meta." + sub + " cannot be filtered on");
        }
        if (core && user() && sub.empty() && iequals(attr, "userName")) {
            return column("t.user_name", AttrType::kString, false);
        }
        if (core && sub.empty() && iequals(attr, "displayName")) {
            return column("t.display_name", AttrType::kString, false);
        }
        if (core && user() && sub.empty() && iequals(attr, "active")) {
            return column("t.active", AttrType::kBoolean, true);
        }
        const scim::Schema* schema = core ? registry_.schema(type_.schema) : registry_.schema(path.urn);
        const scim::AttributeDef* def = schema == nullptr ? nullptr : schema->attribute(attr);
        if (def == nullptr) {
            return Error::invalid_filter("unknown attribute " + path.to_string());
        }
        const std::string container = core ? "t.doc" : "(t.doc -> " + bind(schema->id) + ")";
        const std::string value = "(" + container + " -> " + bind(def->name) + ")";
        if (!def->multi_valued) {
            if (sub.empty()) {
                s.kind = Source::Kind::kJson;
                s.expr = value;
                s.type = def->type;
                s.case_exact = def->case_exact;
                s.complex = def->type == AttrType::kComplex;
                return s;
            }
            const scim::AttributeDef* leaf = def->sub(sub);
            if (leaf == nullptr) {
                return Error::invalid_filter("unknown attribute " + path.to_string());
            }
            s.kind = Source::Kind::kJson;
            s.expr = "(" + value + " -> " + bind(leaf->name) + ")";
            s.type = leaf->type;
            s.case_exact = leaf->case_exact;
            return s;
        }
        // Multi-valued: one value per element (the "value" sub-attribute when none is named).
        const scim::AttributeDef* leaf = def;
        std::string element = "e";
        if (def->type == AttrType::kComplex) {
            leaf = def->sub(sub.empty() ? std::string("value") : sub);
            if (leaf == nullptr) {
                return Error::invalid_filter("unknown attribute " + path.to_string());
            }
            element = "(e -> " + bind(leaf->name) + ")";
        } else if (!sub.empty()) {
            return Error::invalid_filter(def->name + " has no sub-attributes");
        }
        s.kind = Source::Kind::kJsonArray;
        s.expr = value;
        s.element = element;
        s.type = leaf->type;
        s.case_exact = leaf->case_exact;
        s.emails_index = core && user() && iequals(def->name, "emails") &&
                         iequals(leaf->name, "value");
        return s;
    }

    static Source column(std::string expr, AttrType type, bool case_exact) {
        Source s;
        s.kind = Source::Kind::kColumn;
        s.expr = std::move(expr);
        s.type = type;
        s.case_exact = case_exact;
        return s;
    }

    // Presence of one jsonb value: not null and not "" (and, for a complex value, some member is).
    static std::string present_json(const std::string& v, bool complex) {
        if (complex) {
            return "(jsonb_typeof(" + v + ") = 'object' AND EXISTS (SELECT 1 FROM jsonb_each(" + v +
                   ") kv WHERE kv.value NOT IN ('null'::jsonb, '\"\"'::jsonb)))";
        }
        return "(" + v + " IS NOT NULL AND " + v + " NOT IN ('null'::jsonb, '\"\"'::jsonb))";
    }

    scim::Result<std::string> present(const Source& s) {
        switch (s.kind) {
            case Source::Kind::kColumn:
                if (s.type == AttrType::kString) {
                    return "(" + s.expr + " IS NOT NULL AND " + s.expr + " <> '')";
                }
                return "(" + s.expr + " IS NOT NULL)";
            case Source::Kind::kJson:
                return present_json(s.expr, s.complex);
            case Source::Kind::kJsonArray:
                if (s.element == "e") {
                    return "EXISTS (SELECT 1 FROM " + array_of(s.expr) + " e WHERE " +
                           present_json("e", false) + ")";
                }
                return "EXISTS (SELECT 1 FROM " + array_of(s.expr) + " e WHERE " +
                       present_json(s.element, false) + ")";
        }
        return std::string("false");
    }

    // The comparison of one typed SQL value with the literal.
    scim::Result<std::string> compare_value(const std::string& text_expr, const Source& s,
                                            CompareOp op, const boost::json::value& literal,
                                            const std::string& what) {
        switch (s.type) {
            case AttrType::kBoolean:
                if (op != CompareOp::kEq || !literal.is_bool()) {
                    return Error::invalid_filter(what + " is a boolean: use eq true or eq false");
                }
                return "(" + text_expr + " = " + bind(literal.as_bool() ? "true" : "false") + ")";
            case AttrType::kInteger:
            case AttrType::kDecimal:
                if (!literal.is_number() || (op != CompareOp::kEq && !is_ordering(op))) {
                    return Error::invalid_filter(what + " is a number: use eq, ne, gt, ge, lt or le with a number");
                }
                return "(CAST(" + text_expr + " AS double precision) " + sql_operator(op) + " CAST(" +
                       bind(boost::json::serialize(literal)) + " AS double precision))";
            case AttrType::kDateTime: {
                if (!literal.is_string() || (op != CompareOp::kEq && !is_ordering(op))) {
                    return Error::invalid_filter(what + " is a dateTime: use eq, ne, gt, ge, lt or le with a date");
                }
                return "(CAST(" + text_expr + " AS timestamptz) " + sql_operator(op) + " CAST(" +
                       bind(std::string(literal.as_string())) + " AS timestamptz))";
            }
            case AttrType::kComplex:
                return Error::invalid_filter(what + " is complex: name a sub-attribute");
            case AttrType::kBinary:
                if (op != CompareOp::kEq) {
                    return Error::invalid_filter(what + " is binary: only eq and ne apply");
                }
                [[fallthrough]];
            case AttrType::kString:
            case AttrType::kReference: {
                if (!literal.is_string()) {
                    return Error::invalid_filter(what + " is a string: compare it with a quoted string");
                }
                const std::string value(literal.as_string());
                const std::string lhs = s.case_exact ? text_expr : "lower(" + text_expr + ")";
                const auto rhs = [&](std::string bound) {
                    return s.case_exact ? bound : "lower(" + bound + ")";
                };
                switch (op) {
                    case CompareOp::kCo:
                        return "(" + lhs + " LIKE " + rhs(bind("%" + escape_like(value) + "%")) + " ESCAPE '\\')";
                    case CompareOp::kSw:
                        return "(" + lhs + " LIKE " + rhs(bind(escape_like(value) + "%")) + " ESCAPE '\\')";
                    case CompareOp::kEw:
                        return "(" + lhs + " LIKE " + rhs(bind("%" + escape_like(value))) + " ESCAPE '\\')";
                    case CompareOp::kEq:
                        // Equality needs no collation, and without one the indexes apply.
                        return "(" + lhs + " = " + rhs(bind(value)) + ")";
                    default:  // ordering: by code point, whatever the database's collation
                        return "(" + lhs + " COLLATE \"C\" " + sql_operator(op) + " " +
                               rhs(bind(value)) + " COLLATE \"C\")";
                }
            }
        }
        return Error::invalid_filter("unsupported comparison");
    }

    scim::Result<std::string> comparison(const Filter& f, const scim::AttributeDef* parent) {
        const bool core = f.path.urn.empty() || iequals(f.path.urn, type_.schema);
        if (parent == nullptr && core && !user() && iequals(f.path.attr, "members")) {
            // Members are rows, not part of the document: members[.value] eq "<id>" reads them.
            if ((f.path.sub.empty() || iequals(f.path.sub, "value")) &&
                f.kind == Filter::Kind::kCompare && f.op == CompareOp::kEq && f.value.is_string()) {
                return "EXISTS (SELECT 1 FROM scim_group_member m WHERE m.tenant_id = t.tenant_id "
                       "AND m.group_id = t.id AND m.member_id::text = lower(" +
                       bind(std::string(f.value.as_string())) + "))";
            }
            return Error::invalid_filter("on members only members.value eq \"<id>\" is supported");
        }
        if (parent == nullptr && core && user() && iequals(f.path.attr, "groups")) {
            return Error::invalid_filter("filtering on groups is not supported yet");
        }
        auto source = resolve(f.path, parent);
        if (!source) {
            return source.error();
        }
        const std::string what = f.path.to_string();
        if (f.kind == Filter::Kind::kPresent) {
            return present(*source);
        }
        if (f.value.is_null()) {
            if (f.op != CompareOp::kEq && f.op != CompareOp::kNe) {
                return Error::invalid_filter("null can only be compared with eq or ne");
            }
            auto pr = present(*source);
            if (!pr) {
                return pr;
            }
            return f.op == CompareOp::kEq ? negate(*pr) : *pr;
        }
        if (source->complex) {
            return Error::invalid_filter(what + " is complex: name a sub-attribute");
        }
        // ne is not (eq): true when the attribute has no value.
        const CompareOp op = f.op == CompareOp::kNe ? CompareOp::kEq : f.op;
        if (op == CompareOp::kEq && source->kind == Source::Kind::kColumn &&
            source->expr == "t.id::text" && f.value.is_string()) {
            // The primary key answers id eq; a literal that is no UUID matches nothing.
            const std::string id(f.value.as_string());
            std::string cond = is_uuid(id) ? "(t.id = CAST(" + bind(id) + " AS uuid))" : "false";
            return f.op == CompareOp::kNe ? negate(cond) : cond;
        }
        if (f.op == CompareOp::kNe && source->type == AttrType::kBoolean && !f.value.is_bool()) {
            return Error::invalid_filter(what + " is a boolean: use eq true or eq false");
        }
        scim::Result<std::string> cond = std::string();
        switch (source->kind) {
            case Source::Kind::kColumn:
                if (op == CompareOp::kEq && source->expr == "t.user_name" && f.value.is_string()) {
                    // Matches the unique index on lower(user_name).
                    cond = "(lower(t.user_name) = lower(" + bind(std::string(f.value.as_string())) + "))";
                } else {
                    cond = compare_value(source->type == AttrType::kBoolean || source->type == AttrType::kDateTime
                                             ? source->expr
                                             : source->expr,
                                         *source, op, f.value, what);
                }
                break;
            case Source::Kind::kJson:
                cond = compare_value("(" + source->expr + " #>> '{}')", *source, op, f.value, what);
                break;
            case Source::Kind::kJsonArray: {
                if (op == CompareOp::kEq && source->emails_index && f.value.is_string()) {
                    // The B-tree of lower-cased addresses answers emails.value eq (migration 0015).
                    cond = "EXISTS (SELECT 1 FROM scim_user_email ue WHERE ue.tenant_id = t.tenant_id"
                           " AND ue.email = lower(" + bind(std::string(f.value.as_string())) +
                           ") AND ue.user_id = t.id)";
                    break;
                }
                auto inner = compare_value("(" + source->element + " #>> '{}')", *source, op, f.value, what);
                if (!inner) {
                    return inner;
                }
                cond = "EXISTS (SELECT 1 FROM " + array_of(source->expr) + " e WHERE " + *inner + ")";
                break;
            }
        }
        if (!cond) {
            return cond;
        }
        return f.op == CompareOp::kNe ? negate(*cond) : *cond;
    }

    scim::Result<std::string> value_path(const Filter& f) {
        const bool core = f.path.urn.empty() || iequals(f.path.urn, type_.schema);
        const scim::Schema* schema = core ? registry_.schema(type_.schema) : registry_.schema(f.path.urn);
        const scim::AttributeDef* def = schema == nullptr ? nullptr : schema->attribute(f.path.attr);
        if (def == nullptr || !def->multi_valued || def->type != AttrType::kComplex) {
            return Error::invalid_filter(f.path.to_string() +
                                         "[...] needs a multi-valued complex attribute");
        }
        if (core && (iequals(def->name, "members") || iequals(def->name, "groups"))) {
            return Error::invalid_filter("value filters on " + def->name + " are not supported");
        }
        const std::string container = core ? "t.doc" : "(t.doc -> " + bind(schema->id) + ")";
        const std::string array = "(" + container + " -> " + bind(def->name) + ")";
        auto inner = node(*f.left, def);
        if (!inner) {
            return inner;
        }
        return "EXISTS (SELECT 1 FROM " + array_of(array) + " e WHERE " + *inner + ")";
    }

    scim::ResourceKind kind_;
    const scim::SchemaRegistry& registry_;
    const scim::ResourceType& type_;
    std::size_t next_;
    std::size_t comparisons_ = 0;
};

}  // namespace

scim::Result<SortSql> compile_sort(const scim::AttrPath& path, scim::ResourceKind kind,
                                   const scim::SchemaRegistry& registry,
                                   std::vector<std::string>& params, std::size_t first_param) {
    Compiler c(kind, registry, first_param);
    auto sort = c.sort_key(path);
    params.insert(params.end(), c.params.begin(), c.params.end());
    return sort;
}

namespace {
bool indexed_lookup(const Filter& f, scim::ResourceKind kind) {
    if (f.kind == Filter::Kind::kAnd) {
        return indexed_lookup(*f.left, kind) || indexed_lookup(*f.right, kind);
    }
    if (f.kind != Filter::Kind::kCompare || f.op != CompareOp::kEq || !f.value.is_string()) {
        return false;
    }
    const bool user = kind == scim::ResourceKind::kUser;
    const bool core = f.path.urn.empty() || iequals(f.path.urn, user ? scim::kUserSchema : scim::kGroupSchema);
    if (!core) {
        return false;
    }
    if (!f.path.sub.empty()) {
        return user && iequals(f.path.attr, "emails") && iequals(f.path.sub, "value");
    }
    return iequals(f.path.attr, "id") || iequals(f.path.attr, "externalId") ||
           iequals(f.path.attr, "displayName") || (user && iequals(f.path.attr, "userName"));
}
}  // namespace

scim::Result<SqlFragment> compile_filter(const scim::Filter& filter, scim::ResourceKind kind,
                                         const scim::SchemaRegistry& registry,
                                         std::size_t first_param) {
    Compiler c(kind, registry, first_param);
    auto sql = c.node(filter, nullptr);
    if (!sql) {
        return sql.error();
    }
    return SqlFragment{std::move(*sql), std::move(c.params), indexed_lookup(filter, kind)};
}

namespace {

class MemberFilterCompiler {
public:
    scim::Result<std::string> compile(const Filter& f) {
        if (++comparisons_ > kMaxComparisons) {
            return Error::too_many("a member filter may hold at most " +
                                   std::to_string(kMaxComparisons) + " comparisons");
        }
        switch (f.kind) {
            case Filter::Kind::kAnd:
            case Filter::Kind::kOr: {
                auto l = compile(*f.left);
                if (!l) {
                    return l;
                }
                auto r = compile(*f.right);
                if (!r) {
                    return r;
                }
                return "(" + *l + (f.kind == Filter::Kind::kAnd ? " AND " : " OR ") + *r + ")";
            }
            case Filter::Kind::kNot: {
                auto inner = compile(*f.left);
                if (!inner) {
                    return inner;
                }
                return "(NOT " + *inner + ")";
            }
            case Filter::Kind::kPresent: {
                auto x = column(f.path.attr);
                if (!x) {
                    return x;
                }
                return "(" + *x + " IS NOT NULL)";
            }
            case Filter::Kind::kCompare:
                return compare(f);
            case Filter::Kind::kValuePath:
                break;
        }
        return Error::invalid_path("member filters may compare value, type and display");
    }

    std::vector<std::string> params;

private:
    // Values as text, NULL when absent; display as the member's current display name.
    static scim::Result<std::string> column(const std::string& attr) {
        if (iequals(attr, "value")) {
            return std::string("m.member_id::text");
        }
        if (iequals(attr, "type")) {
            return std::string("m.member_type");
        }
        if (iequals(attr, "display")) {
            return std::string(
                "nullif(coalesce((SELECT coalesce(u.display_name, u.user_name) FROM scim_user u "
                "WHERE u.tenant_id = m.tenant_id AND u.id = m.member_id), (SELECT g.display_name "
                "FROM scim_group g WHERE g.tenant_id = m.tenant_id AND g.id = m.member_id), ''), '')");
        }
        return Error::invalid_path("member filters may compare value, type and display");
    }

    std::string bind(std::string value) {
        params.push_back(std::move(value));
        return "lower(CAST(:p" + std::to_string(params.size()) + " AS text))";
    }

    scim::Result<std::string> compare(const Filter& f) {
        auto x = column(f.path.attr);
        if (!x) {
            return x;
        }
        if (f.value.is_null()) {
            if (f.op == CompareOp::kEq) {
                return "(" + *x + " IS NULL)";
            }
            return "(" + *x + " IS NOT NULL)";
        }
        if (!f.value.is_string()) {
            return Error::invalid_path("member attributes are strings: compare them with a quoted string");
        }
        const std::string lhs = "lower(" + *x + ")";
        const std::string value(f.value.as_string());
        std::string cond;
        switch (f.op) {
            case CompareOp::kEq:
            case CompareOp::kNe:
                cond = lhs + " = " + bind(value);
                break;
            case CompareOp::kCo:
                cond = lhs + " LIKE " + bind("%" + escape_like(value) + "%") + " ESCAPE '\\'";
                break;
            case CompareOp::kSw:
                cond = lhs + " LIKE " + bind(escape_like(value) + "%") + " ESCAPE '\\'";
                break;
            case CompareOp::kEw:
                cond = lhs + " LIKE " + bind("%" + escape_like(value)) + " ESCAPE '\\'";
                break;
            default:
                cond = lhs + " COLLATE \"C\" " + sql_operator(f.op) + " " + bind(value) + " COLLATE \"C\"";
                break;
        }
        cond = "coalesce(" + cond + ", false)";
        return f.op == CompareOp::kNe ? "(NOT " + cond + ")" : "(" + cond + ")";
    }

    std::size_t comparisons_ = 0;
};

}  // namespace

scim::Result<SqlFragment> compile_member_filter(const scim::Filter& filter) {
    MemberFilterCompiler c;
    auto sql = c.compile(filter);
    if (!sql) {
        return sql.error();
    }
    return SqlFragment{*sql, std::move(c.params), false};
}

}  // namespace scimbridge::db
