#include "scim/filter_eval.hpp"

#include "scim/datetime.hpp"
#include "scim/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <wctype.h>  // towlower_l (POSIX)

namespace scimbridge::scim {

namespace json = boost::json;

namespace {

// Case-insensitive comparisons fold as PostgreSQL lower() does (scim/text.hpp).
std::string lower(std::string_view s) { return fold_case(s); }

// ---- What a path names. ----

struct Target {
    enum class Source { kDocument, kElement, kId, kExternalId, kCreated, kLastModified, kMembers };
    Source source = Source::kDocument;
    const Schema* extension = nullptr;  // kDocument: the extension holding attr; null for core
    const AttributeDef* attr = nullptr;  // kDocument: the attribute; kElement: the sub-attribute
    const AttributeDef* sub = nullptr;   // kDocument: the sub-attribute named by the path
    // What comparisons read: the leaf's type and caseExact. Not comparable: a singular complex
    // attribute without a sub-attribute, or a multi-valued one without a "value" sub-attribute.
    bool comparable = true;
    AttrType type = AttrType::kString;
    bool case_exact = false;
};

Target common(Target::Source source, AttrType type, bool case_exact) {
    Target t;
    t.source = source;
    t.type = type;
    t.case_exact = case_exact;
    return t;
}

void set_leaf(Target& t, const AttributeDef* leaf) {
    t.comparable = leaf != nullptr && leaf->type != AttrType::kComplex;
    if (t.comparable) {
        t.type = leaf->type;
        t.case_exact = leaf->case_exact;
    }
}

// `parent` is the multi-valued attribute of an enclosing value filter, whose inner paths name
// its sub-attributes.
Result<Target> resolve(const AttrPath& path, const AttributeDef* parent,
                       const SchemaRegistry& registry, const ResourceType& type) {
    if (parent != nullptr) {
        const AttributeDef* s = path.urn.empty() && path.sub.empty() ? parent->sub(path.attr) : nullptr;
        if (s == nullptr) {
            return Error::invalid_filter("inside " + parent->name + "[...] name a sub-attribute of " +
                                         parent->name + ", not " + path.to_string());
        }
        Target t;
        t.source = Target::Source::kElement;
        t.attr = s;
        set_leaf(t, s);
        return t;
    }
    const bool core = path.urn.empty() || iequals(path.urn, type.schema);
    if (core && (iequals(path.attr, "id") || iequals(path.attr, "externalId"))) {
        if (!path.sub.empty()) {
            return Error::invalid_filter(path.attr + " has no sub-attributes");
        }
        // id is a UUID, which has no case; externalId is caseExact (RFC 7643 §3.1).
        return iequals(path.attr, "id")
                   ? common(Target::Source::kId, AttrType::kString, false)
                   : common(Target::Source::kExternalId, AttrType::kString, true);
    }
    if (core && iequals(path.attr, "meta")) {
        if (iequals(path.sub, "created")) {
            return common(Target::Source::kCreated, AttrType::kDateTime, true);
        }
        if (iequals(path.sub, "lastModified")) {
            return common(Target::Source::kLastModified, AttrType::kDateTime, true);
        }
        return Error::invalid_filter("filtering on " + path.to_string() +
                                     " is not supported; meta.created and meta.lastModified are");
    }
    Target t;
    const Schema* schema = nullptr;
    if (core) {
        schema = registry.schema(type.schema);
    } else if (std::any_of(type.extensions.begin(), type.extensions.end(),
                           [&](const SchemaExtension& e) { return iequals(e.schema, path.urn); })) {
        schema = registry.schema(path.urn);
        t.extension = schema;
    }
    if (schema == nullptr) {
        return Error::invalid_filter(path.urn + " is not a schema of " + type.name);
    }
    t.attr = schema->attribute(path.attr);
    if (t.attr == nullptr) {
        return Error::invalid_filter("unknown attribute " + path.to_string());
    }
    if (!path.sub.empty()) {
        t.sub = t.attr->sub(path.sub);
        if (t.sub == nullptr) {
            return Error::invalid_filter("unknown attribute " + path.to_string());
        }
    }
    if (core && iequals(type.schema, kGroupSchema) && t.attr->name == "members") {
        t.source = Target::Source::kMembers;
        return t;
    }
    if (core && iequals(type.schema, kUserSchema) && t.attr->name == "groups") {
        return Error::invalid_filter("filtering on groups is not supported");
    }
    if (t.sub != nullptr) {
        set_leaf(t, t.sub);
    } else if (t.attr->type == AttrType::kComplex) {
        set_leaf(t, t.attr->multi_valued ? t.attr->sub("value") : nullptr);
    } else {
        set_leaf(t, t.attr);
    }
    return t;
}

// ---- What a comparison may be. ----

bool is_substring_op(CompareOp op) {
    return op == CompareOp::kCo || op == CompareOp::kSw || op == CompareOp::kEw;
}

bool is_equality_op(CompareOp op) { return op == CompareOp::kEq || op == CompareOp::kNe; }

Result<void> check_comparison(const Filter& f, const Target& t) {
    // The evaluator checks every comparison it runs: the error text is built only on failure.
    const auto path = [&] { return f.path.to_string(); };
    const auto op = [&] { return std::string(to_string(f.op)); };
    if (t.source == Target::Source::kMembers) {
        const bool value = f.path.sub.empty() || iequals(f.path.sub, "value");
        if (f.kind == Filter::Kind::kCompare && f.op == CompareOp::kEq && f.value.is_string() &&
            value) {
            return {};
        }
        return Error::invalid_filter(
            "on members only members eq \"<id>\" and members.value eq \"<id>\" are supported");
    }
    if (f.kind == Filter::Kind::kPresent) {
        return {};
    }
    if (f.value.is_null()) {
        if (is_equality_op(f.op)) {
            return {};  // eq null is "not pr", ne null is "pr"
        }
        return Error::invalid_filter("null can only be compared with eq or ne, not " + op());
    }
    if (!t.comparable) {
        return Error::invalid_filter(path() + " is complex; name a sub-attribute such as " + path() +
                                     ".value");
    }
    switch (t.type) {
        case AttrType::kString:
        case AttrType::kReference:
        case AttrType::kBinary:
            if (t.type == AttrType::kBinary && !is_equality_op(f.op)) {
                return Error::invalid_filter(path() + " is binary: only eq and ne apply, not " + op());
            }
            if (!f.value.is_string()) {
                return Error::invalid_filter(path() + " is a string; compare it with a quoted string");
            }
            return {};
        case AttrType::kBoolean:
            if (!is_equality_op(f.op)) {
                return Error::invalid_filter(path() + " is a boolean: only eq and ne apply, not " + op());
            }
            if (!f.value.is_bool()) {
                return Error::invalid_filter(path() + " is a boolean; compare it with true or false");
            }
            return {};
        case AttrType::kInteger:
        case AttrType::kDecimal:
            if (is_substring_op(f.op)) {
                return Error::invalid_filter(path() + " is a number: " + op() + " does not apply");
            }
            if (!f.value.is_number()) {
                return Error::invalid_filter(path() + " is a number; compare it with a number");
            }
            return {};
        case AttrType::kDateTime:
            if (is_substring_op(f.op)) {
                return Error::invalid_filter(path() + " is a dateTime: " + op() + " does not apply");
            }
            if (!f.value.is_string() || !parse_datetime(f.value.as_string())) {
                return Error::invalid_filter(path() + " is a dateTime; compare it with a quoted " +
                                             "xsd:dateTime such as \"2011-05-13T04:42:34Z\"");
            }
            return {};
        case AttrType::kComplex:
            break;
    }
    return Error::invalid_filter(path() + " is complex; name a sub-attribute");
}

Result<void> check_node(const Filter& f, const AttributeDef* parent, const SchemaRegistry& registry,
                        const ResourceType& type) {
    switch (f.kind) {
        case Filter::Kind::kCompare:
        case Filter::Kind::kPresent: {
            auto t = resolve(f.path, parent, registry, type);
            if (!t) {
                return t.error();
            }
            return check_comparison(f, *t);
        }
        case Filter::Kind::kAnd:
        case Filter::Kind::kOr: {
            auto l = check_node(*f.left, parent, registry, type);
            if (!l) {
                return l;
            }
            return check_node(*f.right, parent, registry, type);
        }
        case Filter::Kind::kNot:
            return check_node(*f.left, parent, registry, type);
        case Filter::Kind::kValuePath: {
            if (parent != nullptr) {
                return Error::invalid_filter("value filters cannot nest");
            }
            auto t = resolve(f.path, nullptr, registry, type);
            if (!t) {
                return t.error();
            }
            if (t->source != Target::Source::kDocument || t->sub != nullptr ||
                t->attr->type != AttrType::kComplex || !t->attr->multi_valued) {
                return Error::invalid_filter("a value filter needs a multi-valued complex "
                                             "attribute; " + f.path.to_string() + " is not one");
            }
            return check_node(*f.left, t->attr, registry, type);
        }
    }
    return Error::invalid_filter("unsupported filter");
}

// ---- Evaluation. ----

bool present_value(const json::value& v) {
    return !v.is_null() && !(v.is_string() && v.as_string().empty());
}

template <class T>
bool ordered(CompareOp op, const T& a, const T& b) {
    switch (op) {
        case CompareOp::kEq: return a == b;
        case CompareOp::kNe: return a != b;
        case CompareOp::kGt: return a > b;
        case CompareOp::kGe: return a >= b;
        case CompareOp::kLt: return a < b;
        case CompareOp::kLe: return a <= b;
        case CompareOp::kCo:
        case CompareOp::kSw:
        case CompareOp::kEw:
            break;
    }
    return false;
}

// A literal prepared once per comparison: lowered text, parsed instant.
struct Literal {
    std::string text;
    std::optional<std::int64_t> instant;
};

class Evaluator {
public:
    Evaluator(const StoredResource& resource, const SchemaRegistry& registry,
              const ResourceType& type)
        : resource_(resource), registry_(registry), type_(type) {}

    bool eval(const Filter& f, const AttributeDef* parent, const json::object* element) const {
        switch (f.kind) {
            case Filter::Kind::kAnd:
                return eval(*f.left, parent, element) && eval(*f.right, parent, element);
            case Filter::Kind::kOr:
                return eval(*f.left, parent, element) || eval(*f.right, parent, element);
            case Filter::Kind::kNot:
                return !eval(*f.left, parent, element);
            case Filter::Kind::kPresent:
            case Filter::Kind::kCompare: {
                auto t = resolve(f.path, parent, registry_, type_);
                if (!t || !check_comparison(f, *t)) {
                    return false;
                }
                if (f.kind == Filter::Kind::kPresent) {
                    return present(*t, element);
                }
                if (f.value.is_null()) {
                    return f.op == CompareOp::kEq ? !present(*t, element) : present(*t, element);
                }
                if (f.op == CompareOp::kNe) {
                    return !compare(*t, CompareOp::kEq, f.value, element);
                }
                return compare(*t, f.op, f.value, element);
            }
            case Filter::Kind::kValuePath: {
                auto t = resolve(f.path, nullptr, registry_, type_);
                if (!t || parent != nullptr || t->source != Target::Source::kDocument ||
                    t->sub != nullptr || !t->attr->multi_valued) {
                    return false;
                }
                const json::value* v = attribute_value(*t);
                if (v == nullptr || !v->is_array()) {
                    return false;
                }
                return std::any_of(v->as_array().begin(), v->as_array().end(),
                                   [&](const json::value& e) {
                                       return e.is_object() && eval(*f.left, t->attr, &e.as_object());
                                   });
            }
        }
        return false;
    }

private:
    // The attribute's own value in the document (or the element), before any sub-attribute.
    const json::value* attribute_value(const Target& t, const json::object* element = nullptr) const {
        const json::object* container = &resource_.document;
        if (t.source == Target::Source::kElement) {
            container = element;
        } else if (t.extension != nullptr) {
            const json::value* ext = resource_.document.if_contains(t.extension->id);
            container = ext != nullptr && ext->is_object() ? &ext->as_object() : nullptr;
        }
        if (container == nullptr) {
            return nullptr;
        }
        const json::value* v = container->if_contains(t.attr->name);
        return v != nullptr && !v->is_null() ? v : nullptr;
    }

    // Calls pred on each non-null value the path yields until it returns true.
    template <class Pred>
    bool any_value(const Target& t, const json::object* element, Pred pred) const {
        const auto text = [&](std::string_view s) { return pred(json::value(json::string(s))); };
        switch (t.source) {
            case Target::Source::kId:
                return text(resource_.id);
            case Target::Source::kExternalId:
                return resource_.external_id.has_value() && text(*resource_.external_id);
            case Target::Source::kCreated:
                return !resource_.created.empty() && text(resource_.created);
            case Target::Source::kLastModified:
                return !resource_.last_modified.empty() && text(resource_.last_modified);
            case Target::Source::kMembers:
                return false;
            case Target::Source::kElement:
            case Target::Source::kDocument:
                break;
        }
        const json::value* v = attribute_value(t, element);
        if (v == nullptr) {
            return false;
        }
        const AttributeDef* leaf = t.sub;
        if (t.sub == nullptr && t.attr->type == AttrType::kComplex) {
            leaf = t.attr->sub("value");
        }
        const auto yield = [&](const json::value& item) {
            if (leaf == nullptr) {
                return !item.is_null() && pred(item);
            }
            if (!item.is_object()) {
                return false;
            }
            const json::value* s = item.as_object().if_contains(leaf->name);
            return s != nullptr && !s->is_null() && pred(*s);
        };
        if (t.source == Target::Source::kDocument && t.attr->multi_valued) {
            if (!v->is_array()) {
                return false;
            }
            return std::any_of(v->as_array().begin(), v->as_array().end(), yield);
        }
        return yield(*v);
    }

    bool present(const Target& t, const json::object* element) const {
        if (t.source == Target::Source::kDocument && t.sub == nullptr) {
            const json::value* v = attribute_value(t);
            if (v != nullptr && t.attr->multi_valued) {
                return v->is_array() && !v->as_array().empty();
            }
            if (v != nullptr && t.attr->type == AttrType::kComplex) {
                return v->is_object() &&
                       std::any_of(v->as_object().begin(), v->as_object().end(),
                                   [](const json::key_value_pair& kv) { return present_value(kv.value()); });
            }
        }
        return any_value(t, element, present_value);
    }

    bool compare(const Target& t, CompareOp op, const json::value& literal,
                 const json::object* element) const {
        if (t.source == Target::Source::kMembers) {
            if (!resource_.members || !literal.is_string()) {
                return false;
            }
            const std::string wanted = lower(literal.as_string());
            return std::any_of(resource_.members->begin(), resource_.members->end(),
                               [&](const MemberRef& m) { return lower(m.value) == wanted; });
        }
        Literal lit;
        if (literal.is_string()) {
            lit.text = t.case_exact ? std::string(literal.as_string()) : lower(literal.as_string());
            if (t.type == AttrType::kDateTime) {
                lit.instant = parse_datetime(literal.as_string());
            }
        }
        return any_value(t, element, [&](const json::value& v) { return test(t, op, v, literal, lit); });
    }

    static bool test(const Target& t, CompareOp op, const json::value& v, const json::value& literal,
                     const Literal& lit) {
        switch (t.type) {
            case AttrType::kString:
            case AttrType::kReference:
            case AttrType::kBinary: {
                if (!v.is_string() || !literal.is_string()) {
                    return false;
                }
                const std::string value = t.case_exact ? std::string(v.as_string()) : lower(v.as_string());
                const std::string_view a = value;
                const std::string_view b = lit.text;
                switch (op) {
                    case CompareOp::kCo: return a.find(b) != std::string_view::npos;
                    case CompareOp::kSw: return a.starts_with(b);
                    case CompareOp::kEw: return a.ends_with(b);
                    default: return ordered(op, a, b);  // byte order = code-point order
                }
            }
            case AttrType::kBoolean:
                return v.is_bool() && literal.is_bool() && ordered(op, v.as_bool(), literal.as_bool());
            case AttrType::kInteger:
            case AttrType::kDecimal:
                return v.is_number() && literal.is_number() &&
                       ordered(op, v.to_number<double>(), literal.to_number<double>());
            case AttrType::kDateTime: {
                if (!v.is_string() || !lit.instant) {
                    return false;
                }
                const auto instant = parse_datetime(v.as_string());
                return instant.has_value() && ordered(op, *instant, *lit.instant);
            }
            case AttrType::kComplex:
                break;
        }
        return false;
    }

    const StoredResource& resource_;
    const SchemaRegistry& registry_;
    const ResourceType& type_;
};

}  // namespace

bool matches(const Filter& filter, const StoredResource& resource, const SchemaRegistry& registry,
             const ResourceType& type) {
    return Evaluator(resource, registry, type).eval(filter, nullptr, nullptr);
}

bool element_matches(const Filter& inner, const json::object& element, const AttributeDef& parent,
                     const SchemaRegistry& registry, const ResourceType& type) {
    static const StoredResource kNone;
    return Evaluator(kNone, registry, type).eval(inner, &parent, &element);
}

Result<void> check_element_filter(const Filter& inner, const AttributeDef& parent,
                                  const SchemaRegistry& registry, const ResourceType& type) {
    return check_node(inner, &parent, registry, type);
}

Result<void> check_filter_semantics(const Filter& filter, const SchemaRegistry& registry,
                                    const ResourceType& type) {
    return check_node(filter, nullptr, registry, type);
}

}  // namespace scimbridge::scim
