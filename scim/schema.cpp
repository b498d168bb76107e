#include "scim/schema.hpp"

#include "scim/core_schemas.hpp"

#include <boost/json/parse.hpp>

#include <cctype>
#include <stdexcept>

namespace scimbridge::scim {

namespace json = boost::json;

const boost::json::value* find_ci(const boost::json::object& o, std::string_view key) {
    for (const auto& kv : o) {
        if (iequals(kv.key(), key)) {
            return &kv.value();
        }
    }
    return nullptr;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string_view to_string(AttrType t) {
    switch (t) {
        case AttrType::kString: return "string";
        case AttrType::kBoolean: return "boolean";
        case AttrType::kDecimal: return "decimal";
        case AttrType::kInteger: return "integer";
        case AttrType::kDateTime: return "dateTime";
        case AttrType::kBinary: return "binary";
        case AttrType::kReference: return "reference";
        case AttrType::kComplex: return "complex";
    }
    return "string";
}

namespace {

std::string_view to_string(Mutability m) {
    switch (m) {
        case Mutability::kReadOnly: return "readOnly";
        case Mutability::kReadWrite: return "readWrite";
        case Mutability::kImmutable: return "immutable";
        case Mutability::kWriteOnly: return "writeOnly";
    }
    return "readWrite";
}

std::string_view to_string(Returned r) {
    switch (r) {
        case Returned::kAlways: return "always";
        case Returned::kNever: return "never";
        case Returned::kDefault: return "default";
        case Returned::kRequest: return "request";
    }
    return "default";
}

std::string_view to_string(Uniqueness u) {
    switch (u) {
        case Uniqueness::kNone: return "none";
        case Uniqueness::kServer: return "server";
        case Uniqueness::kGlobal: return "global";
    }
    return "none";
}

template <class E, std::size_t N>
std::optional<E> parse_enum(std::string_view text, const std::pair<std::string_view, E> (&table)[N]) {
    for (const auto& [name, value] : table) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

constexpr std::pair<std::string_view, AttrType> kTypes[] = {
    {"string", AttrType::kString},   {"boolean", AttrType::kBoolean},
    {"decimal", AttrType::kDecimal}, {"integer", AttrType::kInteger},
    {"dateTime", AttrType::kDateTime}, {"binary", AttrType::kBinary},
    {"reference", AttrType::kReference}, {"complex", AttrType::kComplex}};
constexpr std::pair<std::string_view, Mutability> kMutabilities[] = {
    {"readOnly", Mutability::kReadOnly}, {"readWrite", Mutability::kReadWrite},
    {"immutable", Mutability::kImmutable}, {"writeOnly", Mutability::kWriteOnly}};
constexpr std::pair<std::string_view, Returned> kReturned[] = {
    {"always", Returned::kAlways}, {"never", Returned::kNever},
    {"default", Returned::kDefault}, {"request", Returned::kRequest}};
constexpr std::pair<std::string_view, Uniqueness> kUniqueness[] = {
    {"none", Uniqueness::kNone}, {"server", Uniqueness::kServer}, {"global", Uniqueness::kGlobal}};

constexpr std::size_t kMaxAttributeDepth = 2;  // RFC 7643 §2.4: no complex inside complex

Result<std::vector<std::string>> string_list(const json::object& o, std::string_view key,
                                             const std::string& where) {
    std::vector<std::string> out;
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return out;
    }
    if (!v->is_array()) {
        return Error::invalid_value(where + "." + std::string(key) + " must be an array");
    }
    for (const json::value& item : v->as_array()) {
        if (!item.is_string()) {
            return Error::invalid_value(where + "." + std::string(key) + " must hold strings");
        }
        out.emplace_back(item.as_string());
    }
    return out;
}

Result<AttributeDef> parse_attribute(const json::value& value, const std::string& parent,
                                     std::size_t depth) {
    if (!value.is_object()) {
        return Error::invalid_value(parent + ": an attribute must be an object");
    }
    const json::object& o = value.as_object();
    AttributeDef a;
    const json::value* name = o.if_contains("name");
    if (name == nullptr || !name->is_string() || name->as_string().empty()) {
        return Error::invalid_value(parent + ": attribute without a name");
    }
    a.name = std::string(name->as_string());
    const std::string where = parent.empty() ? a.name : parent + "." + a.name;
    for (const char c : a.name) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                        c == '$';
        if (!ok) {
            return Error::invalid_value(where + ": attribute names are ATTRNAME (RFC 7643 2.1)");
        }
    }
    const auto get_string = [&](std::string_view key) -> std::optional<std::string_view> {
        const json::value* v = o.if_contains(key);
        if (v == nullptr || !v->is_string()) {
            return std::nullopt;
        }
        return std::string_view(v->as_string());
    };
    const auto get_bool = [&](std::string_view key, bool fallback) {
        const json::value* v = o.if_contains(key);
        return v != nullptr && v->is_bool() ? v->as_bool() : fallback;
    };
    const auto type = parse_enum(get_string("type").value_or("string"), kTypes);
    if (!type) {
        return Error::invalid_value(where + ": unknown type");
    }
    a.type = *type;
    a.multi_valued = get_bool("multiValued", false);
    a.description = std::string(get_string("description").value_or(""));
    a.required = get_bool("required", false);
    a.case_exact = get_bool("caseExact", false);
    const auto mutability = parse_enum(get_string("mutability").value_or("readWrite"), kMutabilities);
    const auto returned = parse_enum(get_string("returned").value_or("default"), kReturned);
    const auto uniqueness = parse_enum(get_string("uniqueness").value_or("none"), kUniqueness);
    if (!mutability || !returned || !uniqueness) {
        return Error::invalid_value(where + ": unknown mutability, returned or uniqueness");
    }
    a.mutability = *mutability;
    a.returned = *returned;
    a.uniqueness = *uniqueness;
    auto canonical = string_list(o, "canonicalValues", where);
    if (!canonical) {
        return canonical.error();
    }
    a.canonical_values = std::move(*canonical);
    auto refs = string_list(o, "referenceTypes", where);
    if (!refs) {
        return refs.error();
    }
    a.reference_types = std::move(*refs);
    if (a.type == AttrType::kComplex) {
        if (depth >= kMaxAttributeDepth) {
            return Error::invalid_value(where + ": complex attributes cannot nest (RFC 7643 2.4)");
        }
        const json::value* subs = o.if_contains("subAttributes");
        if (subs == nullptr || !subs->is_array() || subs->as_array().empty()) {
            return Error::invalid_value(where + ": a complex attribute needs subAttributes");
        }
        for (const json::value& s : subs->as_array()) {
            auto sub = parse_attribute(s, where, depth + 1);
            if (!sub) {
                return sub.error();
            }
            if (a.sub(sub->name) != nullptr) {
                return Error::invalid_value(where + ": duplicate sub-attribute " + sub->name);
            }
            a.sub_attributes.push_back(std::move(*sub));
        }
    }
    return a;
}

json::array strings(const std::vector<std::string>& values) {
    json::array out;
    for (const auto& v : values) {
        out.emplace_back(v);
    }
    return out;
}

}  // namespace

const AttributeDef* AttributeDef::sub(std::string_view n) const {
    for (const AttributeDef& s : sub_attributes) {
        if (iequals(s.name, n)) {
            return &s;
        }
    }
    return nullptr;
}

const AttributeDef* Schema::attribute(std::string_view n) const {
    for (const AttributeDef& a : attributes) {
        if (iequals(a.name, n)) {
            return &a;
        }
    }
    return nullptr;
}

Result<Schema> parse_schema(const json::object& o) {
    Schema s;
    const json::value* id = o.if_contains("id");
    if (id == nullptr || !id->is_string() || !id->as_string().starts_with("urn:")) {
        return Error::invalid_value("a schema needs an id that is a URN");
    }
    s.id = std::string(id->as_string());
    if (const json::value* n = o.if_contains("name"); n != nullptr && n->is_string()) {
        s.name = std::string(n->as_string());
    }
    if (const json::value* d = o.if_contains("description"); d != nullptr && d->is_string()) {
        s.description = std::string(d->as_string());
    }
    const json::value* attrs = o.if_contains("attributes");
    if (attrs == nullptr || !attrs->is_array()) {
        return Error::invalid_value(s.id + ": a schema needs an attributes array");
    }
    for (const json::value& a : attrs->as_array()) {
        auto attr = parse_attribute(a, "", 1);
        if (!attr) {
            return Error::invalid_value(s.id + ": " + attr.error().detail);
        }
        if (s.attribute(attr->name) != nullptr) {
            return Error::invalid_value(s.id + ": duplicate attribute " + attr->name);
        }
        s.attributes.push_back(std::move(*attr));
    }
    return s;
}

json::object to_json(const AttributeDef& a) {
    json::object o;
    o["name"] = a.name;
    o["type"] = to_string(a.type);
    o["multiValued"] = a.multi_valued;
    o["description"] = a.description;
    o["required"] = a.required;
    o["caseExact"] = a.case_exact;
    o["mutability"] = to_string(a.mutability);
    o["returned"] = to_string(a.returned);
    o["uniqueness"] = to_string(a.uniqueness);
    if (!a.canonical_values.empty()) {
        o["canonicalValues"] = strings(a.canonical_values);
    }
    if (!a.reference_types.empty()) {
        o["referenceTypes"] = strings(a.reference_types);
    }
    if (!a.sub_attributes.empty()) {
        json::array subs;
        for (const AttributeDef& s : a.sub_attributes) {
            subs.emplace_back(to_json(s));
        }
        o["subAttributes"] = std::move(subs);
    }
    return o;
}

json::object to_json(const Schema& s) {
    json::object o;
    o["schemas"] = json::array{"urn:ietf:params:scim:schemas:core:2.0:Schema"};
    o["id"] = s.id;
    o["name"] = s.name;
    o["description"] = s.description;
    json::array attrs;
    for (const AttributeDef& a : s.attributes) {
        attrs.emplace_back(to_json(a));
    }
    o["attributes"] = std::move(attrs);
    return o;
}

json::object to_json(const ResourceType& t) {
    json::object o;
    o["schemas"] = json::array{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"};
    o["id"] = t.id;
    o["name"] = t.name;
    o["endpoint"] = t.endpoint;
    o["description"] = t.description;
    o["schema"] = t.schema;
    json::array ext;
    for (const SchemaExtension& e : t.extensions) {
        ext.emplace_back(json::object{{"schema", e.schema}, {"required", e.required}});
    }
    o["schemaExtensions"] = std::move(ext);
    return o;
}

const SchemaRegistry& SchemaRegistry::core() {
    static const SchemaRegistry kCore = [] {
        SchemaRegistry r;
        const json::value doc = json::parse(core_schemas_json());
        for (const json::value& s : doc.as_array()) {
            auto parsed = parse_schema(s.as_object());
            if (!parsed) {
                throw std::logic_error("core schema does not parse: " + parsed.error().detail);
            }
            r.schemas_.push_back(std::move(*parsed));
        }
        r.resource_types_.push_back({"User", "User", "/Users", "User Account",
                                     std::string(kUserSchema),
                                     {{std::string(kEnterpriseUserSchema), false}}});
        r.resource_types_.push_back(
            {"Group", "Group", "/Groups", "Group", std::string(kGroupSchema), {}});
        return r;
    }();
    return kCore;
}

Result<SchemaRegistry> SchemaRegistry::with_extension(const Schema& extension,
                                                      const std::string& resource_type) const {
    if (extension.id.size() <= 4 || !iequals(extension.id.substr(0, 4), "urn:")) {
        return Error::invalid_value("a schema needs an id that is a URN");
    }
    if (schema(extension.id) != nullptr) {
        return Error::uniqueness("schema " + extension.id + " is already defined");
    }
    SchemaRegistry r = *this;
    ResourceType* type = nullptr;
    for (ResourceType& t : r.resource_types_) {
        if (iequals(t.id, resource_type)) {
            type = &t;
        }
    }
    if (type == nullptr) {
        return Error::invalid_value("no resource type " + resource_type);
    }
    type->extensions.push_back({extension.id, false});
    r.schemas_.push_back(extension);
    return r;
}

Result<SchemaRegistry> build_registry(const std::vector<TenantSchema>& extensions) {
    SchemaRegistry registry = SchemaRegistry::core();
    for (const TenantSchema& t : extensions) {
        auto schema = parse_schema(t.definition);
        if (!schema) {
            return schema.error();
        }
        auto next = registry.with_extension(*schema, t.resource_type);
        if (!next) {
            return next.error();
        }
        registry = std::move(*next);
    }
    return registry;
}

const Schema* SchemaRegistry::schema(std::string_view urn) const {
    for (const Schema& s : schemas_) {
        if (iequals(s.id, urn)) {
            return &s;
        }
    }
    return nullptr;
}

const ResourceType* SchemaRegistry::resource_type(std::string_view id) const {
    for (const ResourceType& t : resource_types_) {
        if (iequals(t.id, id)) {
            return &t;
        }
    }
    return nullptr;
}

}  // namespace scimbridge::scim
