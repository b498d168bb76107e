#include "scim/resource.hpp"

#include "scim/text.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace scimbridge::scim {

namespace json = boost::json;

namespace {

// xsd:dateTime as RFC 7643 §2.3.5 requires: 2008-01-23T04:56:22Z, with optional fraction and
// offset.
bool is_datetime(std::string_view s) {
    const auto digits = [&](std::size_t at, std::size_t n) {
        if (at + n > s.size()) {
            return false;
        }
        for (std::size_t i = at; i < at + n; ++i) {
            if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
                return false;
            }
        }
        return true;
    };
    if (!(digits(0, 4) && s.size() > 19 && s[4] == '-' && digits(5, 2) && s[7] == '-' &&
          digits(8, 2) && s[10] == 'T' && digits(11, 2) && s[13] == ':' && digits(14, 2) &&
          s[16] == ':' && digits(17, 2))) {
        return false;
    }
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        const std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            ++i;
        }
        if (i == start) {
            return false;
        }
    }
    if (i < s.size() && s[i] == 'Z') {
        return i + 1 == s.size();
    }
    return i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && digits(i + 1, 2) &&
           s[i + 3] == ':' && digits(i + 4, 2);
}

bool is_base64(std::string_view s) {
    std::size_t pad = 0;
    for (const char c : s) {
        if (c == '=') {
            ++pad;
            continue;
        }
        if (pad > 0 || !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) {
            return false;
        }
    }
    return pad <= 2 && s.size() % 4 == 0;
}

class Normalizer {
public:
    Normalizer(Leniency leniency, RewriteLog* log) : leniency_(leniency), log_(log) {}

    // The value of one attribute (singular or multi-valued); std::nullopt = no value.
    Result<std::optional<json::value>> attribute(const AttributeDef& def, const json::value& v,
                                                 const std::string& where) {
        if (v.is_null()) {
            return std::optional<json::value>();
        }
        if (!def.multi_valued) {
            if (v.is_array()) {
                // Entra's legacy shape wraps simple values: [{"$ref":null,"value":"x"}]; its
                // manager arrives as [{"$ref": ..., "value": ...}].
                if (coerce() && v.as_array().size() == 1) {
                    if (def.type == AttrType::kComplex) {
                        note("complex_as_array");
                        return attribute(def, v.as_array()[0], where);
                    }
                    note("wrapped_simple_value");
                    return attribute(def, unwrap(v.as_array()[0]), where);
                }
                return Error::invalid_value(where + " is single-valued; got an array");
            }
            return singular(def, v, where);
        }
        json::array in;
        if (v.is_array()) {
            in = v.as_array();
        } else if (coerce()) {
            note("single_value_as_array");
            in.push_back(v);
        } else {
            return Error::invalid_value(where + " is multi-valued and must be an array");
        }
        json::array out;
        int primaries = 0;
        for (const json::value& item : in) {
            auto one = singular(def, item, where);
            if (!one) {
                return one.error();
            }
            if (!*one) {
                continue;
            }
            if ((*one)->is_object()) {
                const json::value* primary = (*one)->as_object().if_contains("primary");
                if (primary != nullptr && primary->is_bool() && primary->as_bool()) {
                    ++primaries;
                }
            }
            out.push_back(std::move(**one));
        }
        if (primaries > 1) {
            return Error::invalid_value(where + " has more than one primary value");
        }
        if (out.empty()) {
            return std::optional<json::value>();
        }
        return std::optional<json::value>(json::value(std::move(out)));
    }

    // Attributes of a complex value or of a schema (top level / extension object).
    template <class Defs>
    Result<json::object> attributes(const Defs& defs, const json::object& in,
                                    const std::string& where, bool top_level) {
        json::object out;
        for (const auto& [key, value] : in) {
            const AttributeDef* def = find(defs, key);
            const std::string path = where.empty() ? std::string(key) : where + "." + std::string(key);
            if (def == nullptr) {
                if (value.is_null()) {
                    continue;
                }
                if (lenient()) {
                    note("unknown_attribute_dropped");
                    continue;
                }
                return Error::invalid_syntax("unknown attribute '" + path + "'");
            }
            if (def->mutability == Mutability::kReadOnly) {
                continue;  // RFC 7644 §3.3: readOnly input is ignored
            }
            if (def->mutability == Mutability::kWriteOnly && top_level) {
                if (!value.is_null()) {
                    had_write_only_ = true;
                }
                continue;  // never stored, never returned
            }
            auto normalized = attribute(*def, value, path);
            if (!normalized) {
                return normalized.error();
            }
            if (*normalized) {
                out[def->name] = std::move(**normalized);
            }
        }
        for (const AttributeDef& def : defs_of(defs)) {
            if (def.required && def.mutability != Mutability::kReadOnly && !out.contains(def.name)) {
                const std::string path = where.empty() ? def.name : where + "." + def.name;
                return Error::invalid_value(path + " is required");
            }
        }
        return out;
    }

    bool had_write_only() const { return had_write_only_; }

private:
    bool lenient() const { return leniency_ == Leniency::kLenient; }
    bool coerce() const { return leniency_ != Leniency::kStrict; }
    void note(std::string_view rewrite) {
        if (log_ != nullptr) {
            log_->note(rewrite);
        }
    }

    static const json::value& unwrap(const json::value& v) {
        if (v.is_object()) {
            const json::value* inner = v.as_object().if_contains("value");
            if (inner != nullptr) {
                return *inner;
            }
        }
        return v;
    }

    static const AttributeDef* find(const std::vector<AttributeDef>& defs, std::string_view key) {
        for (const AttributeDef& d : defs) {
            if (iequals(d.name, key)) {
                return &d;
            }
        }
        return nullptr;
    }
    static const std::vector<AttributeDef>& defs_of(const std::vector<AttributeDef>& defs) {
        return defs;
    }

    Result<std::optional<json::value>> singular(const AttributeDef& def, const json::value& v,
                                                const std::string& where) {
        using R = std::optional<json::value>;
        if (v.is_null()) {
            return R();
        }
        switch (def.type) {
            case AttrType::kComplex: {
                // Entra sends manager as a bare id: {"value": id} is meant.
                if (coerce() && v.is_string() && !def.multi_valued && def.sub("value") != nullptr) {
                    note("complex_as_string");
                    return singular(def, json::value(json::object{{"value", v}}), where);
                }
                if (!v.is_object()) {
                    return Error::invalid_value(where + " must be an object");
                }
                auto sub = attributes(def.sub_attributes, v.as_object(), where, false);
                if (!sub) {
                    return sub.error();
                }
                if (sub->empty()) {
                    return R();
                }
                return R(json::value(std::move(*sub)));
            }
            case AttrType::kBoolean: {
                if (v.is_bool()) {
                    return R(v);
                }
                if (coerce() && v.is_string()) {
                    const std::string s = ascii_lower(v.as_string());
                    if (s == "true" || s == "false") {
                        note("bool_string");
                        return R(json::value(s == "true"));
                    }
                }
                return Error::invalid_value(where + " must be a boolean");
            }
            case AttrType::kInteger: {
                if (v.is_int64()) {
                    return R(v);
                }
                if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
                    return R(json::value(static_cast<std::int64_t>(v.as_uint64())));
                }
                if (v.is_double() && std::trunc(v.as_double()) == v.as_double() &&
                    std::abs(v.as_double()) < 9.0e15) {
                    return R(json::value(static_cast<std::int64_t>(v.as_double())));
                }
                if (coerce() && v.is_string()) {
                    std::int64_t n = 0;
                    const std::string_view s = v.as_string();
                    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
                    if (ec == std::errc() && p == s.data() + s.size()) {
                        note("quoted_number");
                        return R(json::value(n));
                    }
                }
                return Error::invalid_value(where + " must be an integer");
            }
            case AttrType::kDecimal: {
                if (v.is_number()) {
                    return R(json::value(v.to_number<double>()));
                }
                if (coerce() && v.is_string()) {
                    double d = 0;
                    const std::string_view s = v.as_string();
                    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
                    if (ec == std::errc() && p == s.data() + s.size()) {
                        note("quoted_number");
                        return R(json::value(d));
                    }
                }
                return Error::invalid_value(where + " must be a number");
            }
            case AttrType::kDateTime:
                if (v.is_string() && is_datetime(v.as_string())) {
                    return R(v);
                }
                return Error::invalid_value(where + " must be an xsd:dateTime such as 2008-01-23T04:56:22Z");
            case AttrType::kBinary:
                if (v.is_string() && is_base64(v.as_string())) {
                    return R(v);
                }
                return Error::invalid_value(where + " must be base64-encoded binary");
            case AttrType::kReference:
            case AttrType::kString:
                if (v.is_string()) {
                    if (!is_storable_text(v.as_string())) {
                        return Error::invalid_value(where + " must not contain U+0000");
                    }
                    return R(v);
                }
                if (coerce() && (v.is_number() || v.is_bool())) {
                    note("number_as_string");
                    return R(json::value(json::serialize(v)));
                }
                return Error::invalid_value(where + " must be a string");
        }
        return Error::invalid_value(where + " has an unsupported type");
    }

    Leniency leniency_;
    RewriteLog* log_;
    bool had_write_only_ = false;
};

const std::vector<AttributeDef>* extension_defs(const SchemaRegistry& registry,
                                                const ResourceType& type, std::string_view urn,
                                                std::string* canonical_urn) {
    for (const SchemaExtension& e : type.extensions) {
        if (iequals(e.schema, urn)) {
            const Schema* s = registry.schema(e.schema);
            if (s != nullptr) {
                *canonical_urn = s->id;
                return &s->attributes;
            }
        }
    }
    return nullptr;
}

}  // namespace

Result<NormalizedResource> normalize_resource(const SchemaRegistry& registry,
                                              const ResourceType& type, const json::value& body,
                                              Leniency leniency, RewriteLog* log) {
    if (!body.is_object()) {
        return Error::invalid_syntax("the request body must be a JSON object");
    }
    const Schema* core = registry.schema(type.schema);
    if (core == nullptr) {
        return Error::internal("");
    }
    const json::object& in = body.as_object();
    NormalizedResource out;
    Normalizer normalizer(leniency, log);

    // schemas: the core schema plus any extensions present (RFC 7643 §3).
    bool has_core = false;
    const json::value* schemas = nullptr;
    for (const auto& [key, value] : in) {
        if (iequals(key, "schemas")) {
            schemas = &value;
        }
    }
    if (schemas != nullptr) {
        if (!schemas->is_array()) {
            return Error::invalid_syntax("schemas must be an array of URIs");
        }
        for (const json::value& s : schemas->as_array()) {
            if (!s.is_string()) {
                return Error::invalid_syntax("schemas must be an array of URIs");
            }
            std::string canonical;
            if (iequals(s.as_string(), type.schema)) {
                has_core = true;
            } else if (extension_defs(registry, type, s.as_string(), &canonical) == nullptr) {
                if (leniency == Leniency::kStrict) {
                    return Error::invalid_syntax("schema " + std::string(s.as_string()) +
                                                 " is not a schema of " + type.name);
                }
                if (log != nullptr) {
                    log->note("unknown_schema_ignored");  // Entra's ADSCIM/2.0/Group URN
                }
            }
        }
    } else if (leniency == Leniency::kStrict) {
        return Error::invalid_syntax("schemas is required (RFC 7643 3)");
    }
    if (!has_core) {
        if (leniency == Leniency::kStrict) {
            return Error::invalid_syntax("schemas must include " + type.schema);
        }
        if (log != nullptr) {
            log->note("schemas_missing");
        }
    }
    out.schemas.push_back(type.schema);

    json::object core_in;
    for (const auto& [key, value] : in) {
        if (iequals(key, "schemas") || iequals(key, "id") || iequals(key, "meta")) {
            continue;  // schemas handled above; id and meta are readOnly (RFC 7643 §3.1)
        }
        if (iequals(key, "externalId")) {
            if (value.is_null()) {
                continue;
            }
            if (!value.is_string() || !is_storable_text(value.as_string())) {
                return Error::invalid_value("externalId must be a string without U+0000");
            }
            out.external_id = std::string(value.as_string());
            continue;
        }
        std::string urn;
        if (const auto* defs = extension_defs(registry, type, key, &urn); defs != nullptr) {
            if (value.is_null()) {
                continue;
            }
            if (!value.is_object()) {
                return Error::invalid_value(urn + " must be an object");
            }
            auto ext = normalizer.attributes(*defs, value.as_object(), urn + ":", false);
            if (!ext) {
                return ext.error();
            }
            if (!ext->empty()) {
                out.document[urn] = std::move(*ext);
                out.schemas.push_back(urn);
            }
            continue;
        }
        core_in[key] = value;
    }
    auto attrs = normalizer.attributes(core->attributes, core_in, "", true);
    if (!attrs) {
        return attrs.error();
    }
    for (auto& [key, value] : *attrs) {
        out.document[key] = std::move(value);
    }
    out.had_password = normalizer.had_write_only();

    if (type.id == "Group") {
        // members live in membership rows (DESIGN §4), not in the document.
        if (json::value* members = out.document.if_contains("members"); members != nullptr) {
            std::vector<std::pair<std::string, std::string>> list;
            for (const json::value& m : members->as_array()) {
                const json::object& o = m.as_object();
                const json::value* value = o.if_contains("value");
                if (value == nullptr || !value->is_string() || value->as_string().empty()) {
                    return Error::invalid_value("members[].value is required");
                }
                std::string member_type;
                if (const json::value* t = o.if_contains("type"); t != nullptr && t->is_string()) {
                    if (iequals(t->as_string(), "User")) {
                        member_type = "User";
                    } else if (iequals(t->as_string(), "Group")) {
                        member_type = "Group";
                    } else {
                        return Error::invalid_value("members[].type must be User or Group");
                    }
                }
                list.emplace_back(std::string(value->as_string()), member_type);
            }
            out.members = std::move(list);
            out.document.erase("members");
        } else if (const auto it = std::find_if(in.begin(), in.end(),
                                                [](const auto& kv) { return iequals(kv.key(), "members"); });
                   it != in.end()) {
            out.members.emplace();  // "members": [] or null: an explicitly empty group
        }
    }
    return out;
}

Result<std::optional<json::value>> normalize_attribute(const AttributeDef& def,
                                                      const json::value& value,
                                                      const std::string& where, Leniency leniency,
                                                      RewriteLog* log) {
    Normalizer normalizer(leniency, log);
    return normalizer.attribute(def, value, where);
}

Result<void> check_immutable(const SchemaRegistry& registry, const ResourceType& type,
                             const json::object& current, const json::object& replacement) {
    const auto check = [](const Schema& schema, const json::object& before_doc,
                          const json::object& after_doc, const std::string& prefix) -> Result<void> {
        for (const AttributeDef& def : schema.attributes) {
            if (def.mutability != Mutability::kImmutable) {
                continue;
            }
            const json::value* before = before_doc.if_contains(def.name);
            const json::value* after = after_doc.if_contains(def.name);
            if (before != nullptr && (after == nullptr || *after != *before)) {
                return Error::mutability(prefix + def.name + " is immutable");
            }
        }
        return {};
    };
    if (auto core = check(*registry.schema(type.schema), current, replacement, ""); !core) {
        return core;
    }
    const json::object empty;
    for (const SchemaExtension& e : type.extensions) {
        const Schema* ext = registry.schema(e.schema);
        const json::value* before = current.if_contains(e.schema);
        if (ext == nullptr || before == nullptr || !before->is_object()) {
            continue;
        }
        const json::value* after = replacement.if_contains(e.schema);
        auto r = check(*ext, before->as_object(),
                       after != nullptr && after->is_object() ? after->as_object() : empty,
                       e.schema + ":");
        if (!r) {
            return r;
        }
    }
    return {};
}

Result<std::vector<AttrPath>> parse_attribute_list(std::string_view text) {
    std::vector<AttrPath> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const std::size_t comma = text.find(',', pos);
        const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
        std::string_view item = text.substr(pos, end - pos);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            auto path = parse_attr_path(item);
            if (!path) {
                return Error::invalid_value("'" + std::string(item) + "' is not an attribute name");
            }
            out.push_back(std::move(*path));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
    return out;
}

namespace {

// Is `path` (from a request list) naming attribute urn:attr (or one of its sub-attributes)?
bool names(const AttrPath& path, const ResourceType& type, std::string_view urn,
           std::string_view attr) {
    if (!path.urn.empty()) {
        if (iequals(path.urn, urn) ||
            (urn.empty() && iequals(path.urn, type.schema))) {
            return iequals(path.attr, attr);
        }
        // "urn:...:enterprise:2.0:User" itself names the whole extension
        return false;
    }
    return urn.empty() && iequals(path.attr, attr);
}

bool names_extension(const AttrPath& path, std::string_view urn) {
    // parse_attr_path splits "urn:a:b:User" into urn "urn:a:b" + attr "User"
    return iequals(path.urn + ":" + path.attr, urn) && path.sub.empty();
}

const AttributeDef* def_for(const SchemaRegistry& registry, const ResourceType& type,
                            std::string_view urn, std::string_view attr) {
    const Schema* s = registry.schema(urn.empty() ? std::string_view(type.schema) : urn);
    return s == nullptr ? nullptr : s->attribute(attr);
}

Returned returned_of(const SchemaRegistry& registry, const ResourceType& type,
                     std::string_view urn, std::string_view attr) {
    if (urn.empty() && (attr == "id" || attr == "schemas")) {
        return Returned::kAlways;
    }
    if (urn.empty() && (attr == "meta" || attr == "externalId")) {
        return Returned::kDefault;
    }
    const AttributeDef* def = def_for(registry, type, urn, attr);
    return def == nullptr ? Returned::kDefault : def->returned;
}

// Keeps only the requested sub-attributes of a complex (or multi-valued complex) value.
json::value keep_subs(const json::value& v, const std::vector<std::string>& subs) {
    const auto filter = [&](const json::object& o) {
        json::object out;
        for (const auto& [k, val] : o) {
            for (const std::string& s : subs) {
                if (iequals(k, s)) {
                    out[k] = val;
                }
            }
        }
        return out;
    };
    if (v.is_object()) {
        return filter(v.as_object());
    }
    if (v.is_array()) {
        json::array out;
        for (const json::value& item : v.as_array()) {
            out.push_back(item.is_object() ? json::value(filter(item.as_object())) : item);
        }
        return out;
    }
    return v;
}

// excludedAttributes=emails.type / name.givenName / urn:...:manager.displayName: removes the
// sub-attribute from a complex value or from every value of a multi-valued one.
void drop_sub(json::value& v, std::string_view sub) {
    const auto strip = [&](json::object& o) {
        for (auto it = o.begin(); it != o.end();) {
            it = iequals(it->key(), sub) ? o.erase(it) : it + 1;
        }
    };
    if (v.is_object()) {
        strip(v.as_object());
    } else if (v.is_array()) {
        for (json::value& item : v.as_array()) {
            if (item.is_object()) {
                strip(item.as_object());
            }
        }
    }
}

}  // namespace

bool is_returned(const SchemaRegistry& registry, const ResourceType& type,
                 const Projection& projection, std::string_view urn, std::string_view attr) {
    const Returned returned = returned_of(registry, type, urn, attr);
    if (returned == Returned::kAlways) {
        return true;
    }
    if (returned == Returned::kNever) {
        return false;
    }
    if (!projection.attributes.empty()) {
        for (const AttrPath& p : projection.attributes) {
            if (names(p, type, urn, attr) || (!urn.empty() && names_extension(p, urn))) {
                return true;
            }
        }
        return false;
    }
    for (const AttrPath& p : projection.excluded_attributes) {
        if ((names(p, type, urn, attr) && p.sub.empty()) ||
            (!urn.empty() && names_extension(p, urn))) {
            return false;
        }
    }
    return returned != Returned::kRequest;
}

LoadPlan load_plan(const SchemaRegistry& registry, const ResourceType& type,
                   const Projection& projection) {
    LoadPlan plan;
    plan.members = type.id == "Group" && is_returned(registry, type, projection, "", "members");
    plan.groups = type.id == "User" && is_returned(registry, type, projection, "", "groups");
    return plan;
}

Projector::Projector(const SchemaRegistry& registry, const ResourceType& type,
                     const Projection& projection)
    : registry_(registry), type_(type), projection_(projection) {}

const Projector::Verdict& Projector::verdict(std::string_view urn, std::string_view attr) const {
    std::string key;
    key.reserve(urn.size() + 1 + attr.size());
    key.append(urn).append(1, '\x1f').append(attr);
    if (const auto it = verdicts_.find(key); it != verdicts_.end()) {
        return it->second;
    }
    Verdict v;
    v.returned = is_returned(registry_, type_, projection_, urn, attr);
    // attributes=name.givenName keeps just that sub-attribute (id and schemas stay whole).
    if (!projection_.attributes.empty() && !(urn.empty() && (attr == "id" || attr == "schemas"))) {
        for (const AttrPath& p : projection_.attributes) {
            if (names(p, type_, urn, attr)) {
                if (p.sub.empty()) {
                    v.subs.clear();  // the whole attribute
                    break;
                }
                v.subs.push_back(p.sub);
            }
        }
    }
    // excludedAttributes=name.givenName removes just that sub-attribute.
    for (const AttrPath& p : projection_.excluded_attributes) {
        if (!p.sub.empty() && names(p, type_, urn, attr)) {
            v.drops.push_back(p.sub);
        }
    }
    return verdicts_.emplace(std::move(key), std::move(v)).first->second;
}

const Schema* Projector::extension(std::string_view key) const {
    if (const auto it = extensions_.find(std::string(key)); it != extensions_.end()) {
        return it->second;
    }
    const Schema* ext = nullptr;
    for (const SchemaExtension& e : type_.extensions) {
        if (iequals(e.schema, key)) {
            ext = registry_.schema(e.schema);
        }
    }
    return extensions_.emplace(std::string(key), ext).first->second;
}

json::object Projector::operator()(json::object resource) const {
    const json::storage_ptr sp = resource.storage();
    json::object out(sp);
    out.reserve(resource.size());
    const auto shaped = [&](json::value& value, const Verdict& v) {
        json::value kept = v.subs.empty() ? json::value(std::move(value)) : keep_subs(value, v.subs);
        for (const std::string& sub : v.drops) {
            drop_sub(kept, sub);
        }
        return kept;
    };
    for (json::key_value_pair& kv : resource) {
        const std::string_view key = kv.key();
        json::value& value = kv.value();
        if (const Schema* ext = extension(key); ext != nullptr && value.is_object()) {
            json::object inner(sp);
            for (json::key_value_pair& x : value.as_object()) {
                const Verdict& v = verdict(ext->id, x.key());
                if (v.returned) {
                    inner[x.key()] = shaped(x.value(), v);
                }
            }
            if (!inner.empty()) {
                out[key] = std::move(inner);
            }
            continue;
        }
        const Verdict& v = verdict("", key);
        if (v.returned) {
            out[key] = shaped(value, v);
        }
    }
    // The schemas list names only the extensions still present.
    if (json::value* schemas = out.if_contains("schemas"); schemas != nullptr && schemas->is_array()) {
        json::array kept(sp);
        for (json::value& s : schemas->as_array()) {
            if (!s.is_string() || iequals(s.as_string(), type_.schema) || out.contains(s.as_string())) {
                kept.push_back(std::move(s));
            }
        }
        *schemas = std::move(kept);
    }
    return out;
}

json::object project(const SchemaRegistry& registry, const ResourceType& type,
                     json::object resource, const Projection& projection) {
    return Projector(registry, type, projection)(std::move(resource));
}

std::vector<std::string> changed_attributes(const json::object& before, const json::object& after) {
    std::set<std::string> names;
    const auto is_extension = [](std::string_view key) { return key.rfind("urn:", 0) == 0; };
    const auto compare = [&](const json::object& a, const json::object& b) {
        for (const auto& [key, value] : a) {
            if (is_extension(key) && value.is_object()) {
                const json::value* other = b.if_contains(key);
                const json::object empty;
                const json::object& o = other != nullptr && other->is_object() ? other->as_object() : empty;
                for (const auto& [k, v] : value.as_object()) {
                    const json::value* w = o.if_contains(k);
                    if (w == nullptr || *w != v) {
                        names.insert(std::string(key) + ":" + std::string(k));
                    }
                }
                continue;
            }
            const json::value* other = b.if_contains(key);
            if (other == nullptr || *other != value) {
                names.insert(std::string(key));
            }
        }
    };
    compare(before, after);
    compare(after, before);
    return {names.begin(), names.end()};
}

}  // namespace scimbridge::scim
