#include "db/filter_sql.hpp"

#include <boost/json/serialize.hpp>

namespace scimbridge::db {

namespace {

using scim::AttrType;
using scim::CompareOp;
using scim::Error;
using scim::Filter;
using scim::iequals;

class Compiler {
public:
    Compiler(scim::ResourceKind kind, const scim::SchemaRegistry& registry, std::size_t first)
        : kind_(kind), registry_(registry), next_(first) {}

    scim::Result<std::string> node(const Filter& f) {
        switch (f.kind) {
            case Filter::Kind::kAnd:
            case Filter::Kind::kOr: {
                auto l = node(*f.left);
                if (!l) {
                    return l;
                }
                auto r = node(*f.right);
                if (!r) {
                    return r;
                }
                return "(" + *l + (f.kind == Filter::Kind::kAnd ? " AND " : " OR ") + *r + ")";
            }
            case Filter::Kind::kNot: {
                auto inner = node(*f.left);
                if (!inner) {
                    return inner;
                }
                return "(NOT coalesce(" + *inner + ", false))";
            }
            case Filter::Kind::kCompare:
                return compare(f);
            case Filter::Kind::kPresent:
            case Filter::Kind::kValuePath:
                return Error::invalid_filter(
                    "this filter form is not supported yet; use eq with and, or, not");
        }
        return Error::invalid_filter("unsupported filter");
    }

    std::vector<std::string> params;

private:
    std::string bind(std::string value) {
        params.push_back(std::move(value));
        return ":p" + std::to_string(next_++);
    }

    bool user() const { return kind_ == scim::ResourceKind::kUser; }

    scim::Result<std::string> compare(const Filter& f) {
        if (f.op != CompareOp::kEq) {
            return Error::invalid_filter("operator '" + std::string(scim::to_string(f.op)) +
                                         "' is not supported yet; use eq");
        }
        if (f.value.is_null()) {
            return Error::invalid_filter("comparing with null is not supported; use pr");
        }
        const std::string text = f.value.is_string() ? std::string(f.value.as_string())
                                                     : boost::json::serialize(f.value);
        const scim::ResourceType& type = *registry_.resource_type(scim::resource_type_id(kind_));
        const bool core = f.path.urn.empty() || iequals(f.path.urn, type.schema);
        const std::string& attr = f.path.attr;
        const std::string& sub = f.path.sub;

        if (core && sub.empty() && iequals(attr, "id")) {
            // Not a UUID: matches nothing (Entra's test connection sends random GUIDs anyway).
            return "(t.id::text = " + bind(lowered(text)) + ")";
        }
        if (core && sub.empty() && iequals(attr, "externalId")) {
            return "(t.external_id = " + bind(text) + ")";
        }
        if (core && user() && sub.empty() && iequals(attr, "userName")) {
            return "(lower(t.user_name) = lower(" + bind(text) + "))";
        }
        if (core && sub.empty() && iequals(attr, "displayName")) {
            return "(lower(t.display_name) = lower(" + bind(text) + "))";
        }
        if (core && user() && iequals(attr, "emails") && (sub.empty() || iequals(sub, "value"))) {
            return "(t.emails @> ARRAY[lower(" + bind(text) + ")])";
        }
        if (core && !user() && iequals(attr, "members") && (sub.empty() || iequals(sub, "value"))) {
            // Members are rows, not part of the document.
            return "EXISTS (SELECT 1 FROM scim_group_member m WHERE m.tenant_id = t.tenant_id "
                   "AND m.group_id = t.id AND m.member_id::text = lower(" + bind(text) + "))";
        }
        if (core && (iequals(attr, "members") || (user() && iequals(attr, "groups")))) {
            return Error::invalid_filter("filtering on " + f.path.to_string() +
                                         " is not supported yet; members.value eq is");
        }
        if (core && user() && sub.empty() && iequals(attr, "active")) {
            if (!f.value.is_bool()) {
                return Error::invalid_filter("active is a boolean");
            }
            return std::string(f.value.as_bool() ? "(t.active IS TRUE)" : "(t.active IS FALSE)");
        }
        return document_compare(f, text, type, core);
    }

    static std::string lowered(const std::string& s) {
        std::string out = s;
        for (char& c : out) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return out;
    }

    // Any other singular string/boolean/number attribute, straight from the JSONB document.
    scim::Result<std::string> document_compare(const Filter& f, const std::string& text,
                                               const scim::ResourceType& type, bool core) {
        const scim::Schema* schema =
            core ? registry_.schema(type.schema) : registry_.schema(f.path.urn);
        const scim::AttributeDef* def = schema == nullptr ? nullptr : schema->attribute(f.path.attr);
        if (def == nullptr) {
            return Error::invalid_filter("unknown attribute " + f.path.to_string());
        }
        const scim::AttributeDef* leaf = def;
        if (!f.path.sub.empty()) {
            leaf = def->sub(f.path.sub);
            if (leaf == nullptr) {
                return Error::invalid_filter("unknown attribute " + f.path.to_string());
            }
        }
        if (leaf->type == AttrType::kComplex) {
            return Error::invalid_filter(f.path.to_string() + " is complex; name a sub-attribute");
        }
        const std::string container =
            core ? "t.doc" : "(t.doc -> " + bind(schema->id) + ")";
        std::string value_sql;
        std::string element;
        if (def->multi_valued) {
            element = "e";
            value_sql = leaf == def ? "(e #>> '{}')" : "(e ->> " + bind(leaf->name) + ")";
        } else if (leaf == def) {
            value_sql = "(" + container + " ->> " + bind(def->name) + ")";
        } else {
            value_sql = "(" + container + " -> " + bind(def->name) + " ->> " + bind(leaf->name) + ")";
        }
        std::string cond;
        if (leaf->type == AttrType::kBoolean) {
            if (!f.value.is_bool()) {
                return Error::invalid_filter(f.path.to_string() + " is a boolean");
            }
            cond = value_sql + " = " + bind(f.value.as_bool() ? "true" : "false");
        } else if (leaf->type == AttrType::kInteger || leaf->type == AttrType::kDecimal) {
            if (!f.value.is_number()) {
                return Error::invalid_filter(f.path.to_string() + " is a number");
            }
            cond = "(" + value_sql + ")::numeric = CAST(" + bind(text) + " AS numeric)";
        } else if (leaf->case_exact) {
            cond = value_sql + " = " + bind(text);
        } else {
            cond = "lower(" + value_sql + ") = lower(" + bind(text) + ")";
        }
        if (def->multi_valued) {
            return "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + container +
                   " -> " + bind(def->name) + ") = 'array' THEN " + container + " -> " +
                   bind(def->name) + " ELSE '[]'::jsonb END) AS e WHERE " + cond + ")";
        }
        return "(" + cond + ")";
    }

    scim::ResourceKind kind_;
    const scim::SchemaRegistry& registry_;
    std::size_t next_;
};

}  // namespace

scim::Result<SqlFragment> compile_filter(const scim::Filter& filter, scim::ResourceKind kind,
                                         const scim::SchemaRegistry& registry,
                                         std::size_t first_param) {
    Compiler c(kind, registry, first_param);
    auto sql = c.node(filter);
    if (!sql) {
        return sql.error();
    }
    return SqlFragment{std::move(*sql), std::move(c.params)};
}

}  // namespace scimbridge::db
