#include "scim/patch.hpp"

#include "scim/filter_eval.hpp"
#include "scim/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cctype>

namespace scimbridge::scim {

namespace json = boost::json;

namespace {

std::string_view op_name(PatchOpKind op) {
    switch (op) {
        case PatchOpKind::kAdd: return "add";
        case PatchOpKind::kRemove: return "remove";
        case PatchOpKind::kReplace: return "replace";
    }
    return "add";
}

// Member ids of a filter made only of `value eq "<id>"` joined by `or` (how IdPs remove members).
bool value_eq_ids(const Filter& f, std::vector<std::string>& ids) {
    if (f.kind == Filter::Kind::kOr) {
        return value_eq_ids(*f.left, ids) && value_eq_ids(*f.right, ids);
    }
    if (f.kind == Filter::Kind::kCompare && f.op == CompareOp::kEq && f.path.urn.empty() &&
        f.path.sub.empty() && iequals(f.path.attr, "value") && f.value.is_string()) {
        ids.push_back(ascii_lower(f.value.as_string()));
        return true;
    }
    return false;
}

// Member filters run in the database over the member rows: value, type and display only.
bool member_filter_supported(const Filter& f) {
    switch (f.kind) {
        case Filter::Kind::kAnd:
        case Filter::Kind::kOr:
            return member_filter_supported(*f.left) && member_filter_supported(*f.right);
        case Filter::Kind::kNot:
            return member_filter_supported(*f.left);
        case Filter::Kind::kCompare:
        case Filter::Kind::kPresent:
            return f.path.urn.empty() && f.path.sub.empty() &&
                   (iequals(f.path.attr, "value") || iequals(f.path.attr, "type") ||
                    iequals(f.path.attr, "display"));
        case Filter::Kind::kValuePath:
            return false;
    }
    return false;
}

// The attribute values a filter of `a eq x and b eq y` pins: what a created element starts with.
bool eq_terms(const Filter& f, json::object& out) {
    if (f.kind == Filter::Kind::kAnd) {
        return eq_terms(*f.left, out) && eq_terms(*f.right, out);
    }
    if (f.kind == Filter::Kind::kCompare && f.op == CompareOp::kEq && f.path.urn.empty() &&
        f.path.sub.empty() && !f.value.is_null()) {
        out[f.path.attr] = f.value;
        return true;
    }
    return false;
}

class Engine {
public:
    Engine(const SchemaRegistry& registry, const ResourceType& type, const StoredResource& current,
           const Dialect& dialect, Leniency leniency, RewriteLog& log)
        : registry_(registry), type_(type), current_(current), dialect_(dialect),
          leniency_(leniency), log_(log), w_(current.document) {
        if (current.external_id) {
            w_["externalId"] = *current.external_id;
        }
        members_def_ = type.schema == kGroupSchema
                           ? registry.schema(kGroupSchema)->attribute("members")
                           : nullptr;
    }

    Result<void> run(const PatchOperation& op) {
        if (!op.path) {
            return without_path(op);
        }
        return with_path(op.op, *op.path, op.value, op.has_value);
    }

    Result<PatchOutcome> finish() {
        // Extension objects emptied by the operations go away.
        for (const SchemaExtension& e : type_.extensions) {
            if (const json::value* v = w_.if_contains(e.schema);
                v != nullptr && v->is_object() && v->as_object().empty()) {
                w_.erase(e.schema);
            }
        }
        json::object body;
        json::array schemas{json::value(type_.schema)};
        for (const SchemaExtension& e : type_.extensions) {
            if (w_.contains(e.schema)) {
                schemas.emplace_back(e.schema);
            }
        }
        body["schemas"] = std::move(schemas);
        for (const auto& [key, value] : w_) {
            body[key] = value;
        }
        auto normalized = normalize_resource(registry_, type_, body, Leniency::kStrict);
        if (!normalized) {
            return normalized.error();
        }
        if (auto immutable = check_immutable(registry_, type_, current_.document, normalized->document);
            !immutable) {
            return immutable.error();
        }
        PatchOutcome out;
        out.document = std::move(normalized->document);
        out.external_id = normalized->external_id;
        out.schemas = std::move(normalized->schemas);
        out.changed = changed_attributes(current_.document, out.document);
        if (out.external_id != current_.external_id) {
            out.changed.emplace_back("externalId");
        }
        out.attributes_changed = !out.changed.empty();
        out.member_steps = std::move(steps_);
        return out;
    }

private:
    // ---- Operations without a path: the value holds attributes (RFC 7644 §3.5.2.1/3). ----
    Result<void> without_path(const PatchOperation& op) {
        if (op.op == PatchOpKind::kRemove) {
            return Error::no_target("remove needs a path (RFC 7644 3.5.2.2)");
        }
        if (!op.value.is_object()) {
            return Error::invalid_value(std::string(op_name(op.op)) +
                                        " without a path needs an object of attributes as value");
        }
        for (const auto& kv : op.value.as_object()) {
            const std::string_view key = kv.key();
            if (iequals(key, "schemas")) {
                continue;
            }
            if (const Schema* ext = extension(key)) {
                if (auto r = on_extension(op.op, *ext, kv.value(), true); !r) {
                    return r;
                }
                continue;
            }
            // Entra (aadOptscim062020): {"name.givenName": …, "urn:…:User:employeeNumber": …}.
            const bool urn_key = key.size() > 4 && iequals(key.substr(0, 4), "urn:");
            const bool dotted = !urn_key && key.find('.') != std::string_view::npos;
            if (urn_key || dotted) {
                if (!dialect_.rewrite) {
                    return Error::invalid_syntax(
                        "'" + std::string(key) +
                        "' is a path, not an attribute name: without a path the value holds "
                        "attributes (RFC 7644 3.5.2); send it as the operation's path");
                }
                log_.note(urn_key ? "urn_key" : "dotted_key");
            }
            auto path = parse_patch_path(key);
            if (!path) {
                return Error::invalid_path("'" + std::string(key) + "' is not an attribute name");
            }
            if (path->filter) {
                return Error::invalid_path("'" + std::string(key) + "' is not an attribute name");
            }
            if (auto r = with_path(op.op, *path, kv.value(), true); !r) {
                return r;
            }
        }
        return {};
    }

    // ---- Path resolution. ----
    const Schema* extension(std::string_view urn) const {
        for (const SchemaExtension& e : type_.extensions) {
            if (iequals(e.schema, urn)) {
                return registry_.schema(e.schema);
            }
        }
        return nullptr;
    }

    Result<void> with_path(PatchOpKind op, const PatchPath& path, const json::value& value,
                           bool has_value) {
        if (!path.filter && path.attr.sub.empty() && !path.attr.urn.empty()) {
            if (const Schema* ext = extension(path.attr.urn + ":" + path.attr.attr)) {
                return on_extension(op, *ext, value, has_value);
            }
        }
        const bool core = path.attr.urn.empty() || iequals(path.attr.urn, type_.schema);
        const Schema* schema = core ? registry_.schema(type_.schema) : extension(path.attr.urn);
        if (schema == nullptr) {
            return Error::invalid_path(path.attr.urn + " is not a schema of " + type_.name);
        }
        if (core) {
            if (iequals(path.attr.attr, "externalId") && path.attr.sub.empty() && !path.filter) {
                return on_external_id(op, value, has_value);
            }
            if (iequals(path.attr.attr, "id")) {
                return on_id(op, value);
            }
            if (iequals(path.attr.attr, "meta") || iequals(path.attr.attr, "schemas")) {
                return Error::mutability(path.attr.attr + " is readOnly");
            }
        }
        const AttributeDef* def = schema->attribute(path.attr.attr);
        if (def == nullptr && core && path.attr.urn.empty() && dialect_.rewrite) {
            // Entra: {"op":"Add","path":"manager",…} names the enterprise extension's manager.
            for (const SchemaExtension& e : type_.extensions) {
                const Schema* ext = registry_.schema(e.schema);
                if (ext != nullptr && ext->attribute(path.attr.attr) != nullptr) {
                    log_.note("unqualified_extension_attribute");
                    PatchPath qualified = path;
                    qualified.attr.urn = ext->id;
                    return with_path(op, qualified, value, has_value);
                }
            }
        }
        if (def == nullptr) {
            if (leniency_ == Leniency::kLenient) {
                log_.note("unknown_attribute_dropped");
                return {};
            }
            return Error::invalid_path("no attribute '" + path.attr.to_string() + "' in " +
                                       schema->name + " (path '" + path.text + "')");
        }
        if (members_def_ != nullptr && def == members_def_) {
            return on_members(op, path, value, has_value);
        }
        if (def->mutability == Mutability::kReadOnly) {
            return Error::mutability(def->name + " is readOnly");
        }
        const std::string& sub_name = path.filter ? path.filter_sub : path.attr.sub;
        const AttributeDef* sub = nullptr;
        if (!sub_name.empty()) {
            sub = def->sub(sub_name);
            if (sub == nullptr) {
                return Error::invalid_path("no sub-attribute '" + sub_name + "' in " + def->name);
            }
            if (sub->mutability == Mutability::kReadOnly) {
                return Error::mutability(def->name + "." + sub->name + " is readOnly");
            }
        }
        json::object& container = core ? w_ : extension_object(schema->id);
        if (path.filter) {
            if (def->type != AttrType::kComplex) {
                return Error::invalid_path("a value filter needs a complex attribute; " + def->name +
                                           " is not one");
            }
            if (auto ok = check_element_filter(*path.filter, *def, registry_, type_); !ok) {
                return Error::invalid_path("invalid value filter in '" + path.text +
                                           "': " + ok.error().detail);
            }
            if (!def->multi_valued) {
                return filtered_single(op, container, *def, *path.filter, sub, value, has_value);
            }
            return filtered(op, container, *def, path, sub, value, has_value);
        }
        return plain(op, container, *def, sub, value, has_value);
    }

    json::object& extension_object(const std::string& urn) {
        json::value& v = w_[urn];
        if (!v.is_object()) {
            v = json::object();
        }
        return v.as_object();
    }

    Result<std::optional<json::value>> normalize(const AttributeDef& def, const json::value& v,
                                                 const std::string& where) {
        return normalize_attribute(def, v, where, leniency_, &log_);
    }

    // One element of a multi-valued attribute, validated like the attribute's elements.
    Result<std::optional<json::value>> normalize_element(const AttributeDef& def,
                                                         const json::value& v) {
        AttributeDef one = def;
        one.multi_valued = false;
        return normalize(one, v, def.name);
    }

    // ---- externalId, id and extension containers. ----
    Result<void> on_external_id(PatchOpKind op, const json::value& value, bool has_value) {
        if (op == PatchOpKind::kRemove || !has_value || value.is_null()) {
            if (op != PatchOpKind::kRemove && !has_value) {
                return Error::invalid_value(std::string(op_name(op)) + " needs a value");
            }
            w_.erase("externalId");
            return {};
        }
        if (!value.is_string() || !is_storable_text(value.as_string())) {
            return Error::invalid_value("externalId must be a string without U+0000");
        }
        w_["externalId"] = value;
        return {};
    }

    Result<void> on_id(PatchOpKind op, const json::value& value) {
        // Okta's group rename carries the group's own id in the value: no change is meant.
        if (op != PatchOpKind::kRemove && value.is_string() && iequals(value.as_string(), current_.id)) {
            if (!dialect_.rewrite) {
                return Error::mutability("id is readOnly and must not appear in a PATCH value");
            }
            log_.note("id_in_value");
            return {};
        }
        return Error::mutability("id is readOnly");
    }

    Result<void> on_extension(PatchOpKind op, const Schema& ext, const json::value& value,
                              bool has_value) {
        if (op == PatchOpKind::kRemove) {
            for (const SchemaExtension& e : type_.extensions) {
                if (iequals(e.schema, ext.id) && e.required) {
                    return Error::mutability(ext.id + " is required");
                }
            }
            w_.erase(ext.id);
            return {};
        }
        if (!has_value || !value.is_object()) {
            return Error::invalid_value(ext.id + " takes an object of its attributes");
        }
        for (const auto& kv : value.as_object()) {
            PatchPath path;
            path.attr.urn = ext.id;
            path.attr.attr = std::string(kv.key());
            path.text = ext.id + ":" + path.attr.attr;
            if (auto r = with_path(op, path, kv.value(), true); !r) {
                return r;
            }
        }
        return {};
    }

    // ---- Attributes without a value filter. ----
    Result<void> plain(PatchOpKind op, json::object& container, const AttributeDef& def,
                       const AttributeDef* sub, const json::value& value, bool has_value) {
        const std::string& name = def.name;
        if (op == PatchOpKind::kRemove) {
            return remove_plain(container, def, sub, value, has_value);
        }
        if (!has_value) {
            return Error::invalid_value(std::string(op_name(op)) + " of " + name + " needs a value");
        }
        if (sub == nullptr) {
            auto nv = normalize(def, value, name);
            if (!nv) {
                return nv.error();
            }
            if (!*nv) {
                if (op == PatchOpKind::kReplace) {
                    if (def.required) {
                        return Error::mutability(name + " is required");
                    }
                    container.erase(name);
                }
                return {};
            }
            if (def.multi_valued) {
                if (op == PatchOpKind::kReplace || !container.contains(name)) {
                    container[name] = std::move(**nv);
                    std::vector<std::size_t> all(container[name].as_array().size());
                    for (std::size_t i = 0; i < all.size(); ++i) {
                        all[i] = i;
                    }
                    keep_one_primary(container[name].as_array(), all);
                } else {
                    merge_elements(container, def, (*nv)->as_array());
                }
            } else if (def.type == AttrType::kComplex) {
                // RFC 7644 §3.5.2.1/3: sub-attributes not named are left unchanged.
                json::value& target = container[name];
                if (!target.is_object()) {
                    target = json::object();
                }
                for (const auto& kv : (*nv)->as_object()) {
                    target.as_object()[kv.key()] = kv.value();
                }
            } else {
                container[name] = std::move(**nv);
            }
            return {};
        }
        if (def.multi_valued) {
            return Error::invalid_path(name + "." + sub->name + ": select the values with a filter, e.g. " +
                                       name + "[type eq \"work\"]." + sub->name);
        }
        auto nv = normalize(*sub, value, name + "." + sub->name);
        if (!nv) {
            return nv.error();
        }
        json::object obj;
        if (const json::value* existing = container.if_contains(name); existing != nullptr && existing->is_object()) {
            obj = existing->as_object();
        }
        if (*nv) {
            obj[sub->name] = std::move(**nv);
        } else {
            obj.erase(sub->name);
        }
        if (obj.empty()) {
            container.erase(name);
        } else {
            container[name] = std::move(obj);
        }
        return {};
    }

    Result<void> remove_plain(json::object& container, const AttributeDef& def, const AttributeDef* sub,
                              const json::value& value, bool has_value) {
        const std::string& name = def.name;
        const bool with_value = has_value && !value.is_null();
        if (sub != nullptr) {
            if (sub->required) {
                return Error::mutability(name + "." + sub->name + " is required");
            }
            json::value* v = container.if_contains(name);
            if (v == nullptr) {
                return {};
            }
            if (v->is_array()) {
                for (json::value& e : v->as_array()) {
                    if (e.is_object()) {
                        e.as_object().erase(sub->name);
                    }
                }
                json::array kept;
                for (json::value& e : v->as_array()) {
                    if (!e.is_object() || !e.as_object().empty()) {
                        kept.push_back(std::move(e));
                    }
                }
                if (kept.empty()) {
                    container.erase(name);
                } else {
                    *v = std::move(kept);
                }
            } else if (v->is_object()) {
                v->as_object().erase(sub->name);
                if (v->as_object().empty()) {
                    container.erase(name);
                }
            }
            return {};
        }
        if (def.required) {
            return Error::mutability(name + " is required and cannot be removed");
        }
        if (with_value) {
            // Entra removes values by listing them: {"op":"Remove","path":"emails","value":[…]}.
            if (!dialect_.rewrite) {
                return Error::invalid_value("remove takes no value: select the values to remove "
                                            "with a filter path such as " + name +
                                            "[value eq \"…\"] (RFC 7644 3.5.2.2)");
            }
            if (!def.multi_valued) {
                log_.note("remove_with_value");
                container.erase(name);
                return {};
            }
            log_.note("remove_by_value");
            json::value* v = container.if_contains(name);
            if (v == nullptr || !v->is_array()) {
                return {};
            }
            const json::array listed = value.is_array() ? value.as_array() : json::array{value};
            const AttributeDef* value_sub = def.type == AttrType::kComplex ? def.sub("value") : nullptr;
            const auto key_of = [&](const json::value& e) -> json::value {
                if (value_sub != nullptr && e.is_object()) {
                    const json::value* x = e.as_object().if_contains("value");
                    return x != nullptr ? *x : json::value();
                }
                return e;
            };
            json::array kept;
            for (const json::value& e : v->as_array()) {
                const json::value k = key_of(e);
                const bool gone = std::any_of(listed.begin(), listed.end(), [&](const json::value& l) {
                    return same_scalar(key_of(l), k, value_sub != nullptr ? value_sub->case_exact : def.case_exact);
                });
                if (!gone) {
                    kept.push_back(e);
                }
            }
            if (kept.empty()) {
                container.erase(name);
            } else {
                *v = std::move(kept);
            }
            return {};
        }
        container.erase(name);
        return {};
    }

    // ---- Multi-valued attributes with a value filter. ----
    Result<void> filtered(PatchOpKind op, json::object& container, const AttributeDef& def,
                          const PatchPath& path, const AttributeDef* sub, const json::value& value,
                          bool has_value) {
        const std::string& name = def.name;
        json::value* v = container.if_contains(name);
        std::vector<std::size_t> matched;
        if (v != nullptr && v->is_array()) {
            const json::array& a = v->as_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (a[i].is_object() && element_matches(*path.filter, a[i].as_object(), def, registry_, type_)) {
                    matched.push_back(i);
                }
            }
        }
        if (op == PatchOpKind::kRemove) {
            if (matched.empty()) {
                return Error::no_target("no value of " + name + " matches '" + path.text + "'");
            }
            json::array kept;
            json::array& a = v->as_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                const bool hit = std::find(matched.begin(), matched.end(), i) != matched.end();
                if (!hit) {
                    kept.push_back(a[i]);
                } else if (sub != nullptr) {
                    if (sub->required) {
                        return Error::mutability(name + "." + sub->name + " is required");
                    }
                    json::object e = a[i].as_object();
                    e.erase(sub->name);
                    if (!e.empty()) {
                        kept.emplace_back(std::move(e));
                    }
                }
            }
            if (kept.empty()) {
                container.erase(name);
            } else {
                *v = std::move(kept);
            }
            return {};
        }
        if (!has_value) {
            return Error::invalid_value(std::string(op_name(op)) + " of '" + path.text + "' needs a value");
        }
        if (matched.empty()) {
            // RFC 7644 §3.5.2.3: noTarget. Entra expects the element to be created; add creates.
            if (op == PatchOpKind::kReplace && !dialect_.create_missing_filtered) {
                return Error::no_target("no value of " + name + " matches '" + path.text + "'");
            }
            json::object element;
            if (!eq_terms(*path.filter, element)) {
                return Error::no_target("no value of " + name + " matches '" + path.text +
                                        "', and the filter does not say what to create");
            }
            if (sub != nullptr) {
                element[sub->name] = value;
            } else if (value.is_object()) {
                for (const auto& kv : value.as_object()) {
                    element[kv.key()] = kv.value();
                }
            } else {
                return Error::invalid_value("the value for '" + path.text + "' must be an object");
            }
            auto ne = normalize_element(def, element);
            if (!ne) {
                return ne.error();
            }
            if (!*ne) {
                return {};
            }
            if (op == PatchOpKind::kReplace) {
                log_.note("replace_missing_filtered_creates");
            }
            json::value& target = container[name];
            if (!target.is_array()) {
                target = json::array();
            }
            target.as_array().push_back(std::move(**ne));
            keep_one_primary(target.as_array(), {target.as_array().size() - 1});
            return {};
        }
        json::array& a = v->as_array();
        for (const std::size_t i : matched) {
            json::object e = a[i].as_object();
            if (sub != nullptr) {
                auto nv = normalize(*sub, value, name + "." + sub->name);
                if (!nv) {
                    return nv.error();
                }
                if (*nv) {
                    e[sub->name] = std::move(**nv);
                } else {
                    e.erase(sub->name);
                }
            } else {
                auto ne = normalize_element(def, value);
                if (!ne) {
                    return ne.error();
                }
                if (!*ne) {
                    e = json::object();
                } else if (op == PatchOpKind::kReplace) {
                    e = (*ne)->as_object();  // matched values are replaced (RFC 7644 §3.5.2.3)
                } else {
                    for (const auto& kv : (*ne)->as_object()) {
                        e[kv.key()] = kv.value();
                    }
                }
            }
            a[i] = std::move(e);
        }
        keep_one_primary(a, matched);
        json::array kept;
        for (json::value& e : a) {
            if (!e.is_object() || !e.as_object().empty()) {
                kept.push_back(std::move(e));
            }
        }
        if (kept.empty()) {
            container.erase(name);
        } else {
            *v = std::move(kept);
        }
        return {};
    }

    // Entra: manager[value eq "…"] on a single-valued complex attribute.
    Result<void> filtered_single(PatchOpKind op, json::object& container, const AttributeDef& def,
                                 const Filter& filter, const AttributeDef* sub,
                                 const json::value& value, bool has_value) {
        if (!dialect_.rewrite) {
            return Error::invalid_path("a value filter selects values of a multi-valued attribute; " +
                                       def.name + " is single-valued");
        }
        log_.note("filter_on_single_valued");
        const json::value* current = container.if_contains(def.name);
        const bool matches = current != nullptr && current->is_object() &&
                             element_matches(filter, current->as_object(), def, registry_, type_);
        if (op == PatchOpKind::kRemove) {
            if (matches) {
                if (sub != nullptr) {
                    return remove_plain(container, def, sub, json::value(), false);
                }
                container.erase(def.name);
            }
            return {};  // already gone: the IdP's intent holds
        }
        if (current != nullptr && !matches) {
            return Error::no_target(def.name + " does not match the filter");
        }
        return plain(op, container, def, sub, value, has_value);
    }

    // ---- Members: steps for the store. ----
    Result<void> on_members(PatchOpKind op, const PatchPath& path, const json::value& value,
                            bool has_value) {
        if (!path.attr.sub.empty() || !path.filter_sub.empty()) {
            return Error::mutability("members' sub-attributes are immutable: remove the member and add it again");
        }
        std::shared_ptr<const Filter> filter = path.filter;
        MemberStep select;  // the members a filter names
        if (filter) {
            std::vector<std::string> ids;
            if (value_eq_ids(*filter, ids)) {
                select.kind = MemberStep::Kind::kRemove;
                select.ids = std::move(ids);
            } else {
                if (!member_filter_supported(*filter)) {
                    return Error::invalid_path("member filters may compare value, type and display");
                }
                if (auto ok = check_element_filter(*filter, *members_def_, registry_, type_); !ok) {
                    return Error::invalid_path("invalid value filter in '" + path.text + "': " + ok.error().detail);
                }
                select.kind = MemberStep::Kind::kRemoveMatching;
                select.filter = filter;
            }
        }
        if (op == PatchOpKind::kRemove) {
            if (filter) {
                steps_.push_back(std::move(select));
                return {};
            }
            if (has_value && !value.is_null()) {
                // Entra and JumpCloud: {"op":"remove","path":"members","value":[{"value":id}]}.
                if (!dialect_.rewrite) {
                    return Error::invalid_value("remove takes no value: name the members with a filter "
                                                "path such as members[value eq \"<id>\"] (RFC 7644 3.5.2.2)");
                }
                log_.note("remove_by_value");
                auto list = member_list(value);
                if (!list) {
                    return list.error();
                }
                MemberStep step;
                step.kind = MemberStep::Kind::kRemove;
                for (const MemberRef& m : *list) {
                    step.ids.push_back(ascii_lower(m.value));
                }
                steps_.push_back(std::move(step));
                return {};
            }
            steps_.push_back(MemberStep{MemberStep::Kind::kRemoveAll, {}, {}, nullptr});
            return {};
        }
        if (!has_value) {
            return Error::invalid_value(std::string(op_name(op)) + " of members needs a value");
        }
        auto list = member_list(value);
        if (!list) {
            return list.error();
        }
        if (op == PatchOpKind::kAdd) {
            if (filter) {
                return Error::invalid_path("add to members takes the path members, without a filter");
            }
            steps_.push_back(MemberStep{MemberStep::Kind::kAdd, std::move(*list), {}, nullptr});
            return {};
        }
        if (filter) {  // replace the selected members with the given ones
            steps_.push_back(std::move(select));
            steps_.push_back(MemberStep{MemberStep::Kind::kAdd, std::move(*list), {}, nullptr});
            return {};
        }
        steps_.push_back(MemberStep{MemberStep::Kind::kReplace, std::move(*list), {}, nullptr});
        return {};
    }

    Result<std::vector<MemberRef>> member_list(const json::value& value) {
        json::array items;
        if (value.is_array()) {
            items = value.as_array();
        } else if (value.is_object() && dialect_.rewrite) {
            log_.note("single_value_as_array");
            items.push_back(value);
        } else if (value.is_null()) {
            return std::vector<MemberRef>{};
        } else {
            return Error::invalid_value("members takes an array of {\"value\": \"<id>\"}");
        }
        std::vector<MemberRef> out;
        out.reserve(items.size());
        for (const json::value& item : items) {
            MemberRef m;
            if (item.is_string() && dialect_.rewrite) {
                log_.note("member_as_string");
                m.value = std::string(item.as_string());
            } else if (item.is_object()) {
                const json::value* v = find_ci(item.as_object(), "value");
                if (v == nullptr || !v->is_string() || v->as_string().empty()) {
                    return Error::invalid_value("members[].value is required");
                }
                m.value = std::string(v->as_string());
                if (const json::value* t = find_ci(item.as_object(), "type"); t != nullptr && !t->is_null()) {
                    if (t->is_string() && iequals(t->as_string(), "User")) {
                        m.type = "User";
                    } else if (t->is_string() && iequals(t->as_string(), "Group")) {
                        m.type = "Group";
                    } else {
                        return Error::invalid_value("members[].type must be User or Group");
                    }
                }
            } else {
                return Error::invalid_value("members takes an array of {\"value\": \"<id>\"}");
            }
            out.push_back(std::move(m));
        }
        return out;
    }

    // ---- Multi-valued helpers. ----
    static bool same_scalar(const json::value& a, const json::value& b, bool case_exact) {
        if (a.is_string() && b.is_string()) {
            return case_exact ? a.as_string() == b.as_string() : iequals(a.as_string(), b.as_string());
        }
        return a == b;
    }

    // Two values of a multi-valued attribute name the same thing: equal "value" (and "type",
    // when either has one); simple values: equal.
    static bool same_element(const AttributeDef& def, const json::value& a, const json::value& b) {
        if (def.type != AttrType::kComplex) {
            return same_scalar(a, b, def.case_exact);
        }
        if (!a.is_object() || !b.is_object()) {
            return false;
        }
        const json::value* av = a.as_object().if_contains("value");
        const json::value* bv = b.as_object().if_contains("value");
        if (av == nullptr || bv == nullptr) {
            return a == b;
        }
        const AttributeDef* value_sub = def.sub("value");
        if (!same_scalar(*av, *bv, value_sub != nullptr && value_sub->case_exact)) {
            return false;
        }
        const json::value* at = a.as_object().if_contains("type");
        const json::value* bt = b.as_object().if_contains("type");
        if (at == nullptr && bt == nullptr) {
            return true;
        }
        return at != nullptr && bt != nullptr && same_scalar(*at, *bt, false);
    }

    // RFC 7644 §3.5.2.1: add merges; a value already there is updated, not duplicated.
    void merge_elements(json::object& container, const AttributeDef& def, const json::array& items) {
        json::array& a = container[def.name].as_array();
        std::vector<std::size_t> touched;
        for (const json::value& item : items) {
            const auto it = std::find_if(a.begin(), a.end(),
                                         [&](const json::value& e) { return same_element(def, e, item); });
            if (it == a.end()) {
                a.push_back(item);
                touched.push_back(a.size() - 1);
                continue;
            }
            if (it->is_object() && item.is_object()) {
                for (const auto& kv : item.as_object()) {
                    it->as_object()[kv.key()] = kv.value();
                }
            }
            touched.push_back(static_cast<std::size_t>(it - a.begin()));
        }
        keep_one_primary(a, touched);
    }

    // RFC 7644 §3.5.2: a value set to primary makes every other value non-primary.
    static void keep_one_primary(json::array& a, const std::vector<std::size_t>& touched) {
        std::optional<std::size_t> primary;
        for (const std::size_t i : touched) {
            if (i < a.size() && a[i].is_object()) {
                const json::value* p = a[i].as_object().if_contains("primary");
                if (p != nullptr && p->is_bool() && p->as_bool()) {
                    primary = i;
                }
            }
        }
        if (!primary) {
            return;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (i == *primary || !a[i].is_object()) {
                continue;
            }
            json::object& e = a[i].as_object();
            if (const json::value* p = e.if_contains("primary"); p != nullptr && p->is_bool() && p->as_bool()) {
                e["primary"] = false;
            }
        }
    }

    const SchemaRegistry& registry_;
    const ResourceType& type_;
    const StoredResource& current_;
    const Dialect& dialect_;
    Leniency leniency_;
    RewriteLog& log_;
    json::object w_;  // the document being patched, with "externalId"
    const AttributeDef* members_def_ = nullptr;
    std::vector<MemberStep> steps_;
};

}  // namespace

Dialect dialect_for(std::string_view source, bool strict) {
    Dialect d;
    d.source = std::string(source);
    d.rewrite = !strict;
    d.create_missing_filtered = !strict && source == "entra";
    return d;
}

Result<PatchRequest> decode_patch(const json::value& body, const Dialect& dialect, RewriteLog& log,
                                  const PatchLimits& limits) {
    if (!body.is_object()) {
        return Error::invalid_syntax("a PATCH body is a JSON object (RFC 7644 3.5.2)");
    }
    const json::object& o = body.as_object();
    bool has_schema = false;
    if (const json::value* schemas = find_ci(o, "schemas"); schemas != nullptr && schemas->is_array()) {
        for (const json::value& s : schemas->as_array()) {
            has_schema = has_schema || (s.is_string() && iequals(s.as_string(), kPatchOpSchema));
        }
    }
    if (!has_schema) {
        if (!dialect.rewrite) {
            return Error::invalid_syntax("schemas must be [\"" + std::string(kPatchOpSchema) + "\"]");
        }
        log.note("schemas_missing");
    }
    const json::value* ops = find_ci(o, "Operations");
    if (ops == nullptr || !ops->is_array() || ops->as_array().empty()) {
        return Error::invalid_syntax("Operations must be a non-empty array (RFC 7644 3.5.2)");
    }
    if (ops->as_array().size() > limits.max_operations) {
        return Error::too_many("a PATCH may carry at most " + std::to_string(limits.max_operations) +
                               " operations");
    }
    PatchRequest out;
    std::size_t index = 0;
    for (const json::value& item : ops->as_array()) {
        ++index;
        const std::string where = "Operations[" + std::to_string(index) + "]";
        if (!item.is_object()) {
            return Error::invalid_syntax(where + " must be an object");
        }
        const json::object& op = item.as_object();
        PatchOperation parsed;
        const json::value* name = find_ci(op, "op");
        if (name == nullptr || !name->is_string()) {
            return Error::invalid_syntax(where + ".op must be add, remove or replace");
        }
        const std::string_view n = name->as_string();
        bool known = false;
        for (const PatchOpKind k : {PatchOpKind::kAdd, PatchOpKind::kRemove, PatchOpKind::kReplace}) {
            if (iequals(n, op_name(k))) {
                parsed.op = k;
                known = true;
            }
        }
        if (!known) {
            return Error::invalid_syntax(where + ".op must be add, remove or replace, not '" +
                                         std::string(n) + "'");
        }
        if (n != op_name(parsed.op)) {
            // Entra sends "Add", "Replace", "Remove".
            if (!dialect.rewrite) {
                return Error::invalid_syntax(where + ".op '" + std::string(n) + "' must be lower-case '" +
                                             std::string(op_name(parsed.op)) + "' (RFC 7644 3.5.2)");
            }
            log.note("op_case");
            out.looks_like_entra = true;
        }
        if (const json::value* path = find_ci(op, "path"); path != nullptr && !path->is_null()) {
            if (!path->is_string()) {
                return Error::invalid_path(where + ".path must be a string");
            }
            if (path->as_string().empty() && dialect.rewrite) {
                log.note("empty_path");
            } else {
                auto p = parse_patch_path(path->as_string());
                if (!p) {
                    return p.error();
                }
                parsed.path = std::move(*p);
            }
        }
        if (const json::value* value = find_ci(op, "value"); value != nullptr) {
            parsed.value = *value;
            parsed.has_value = true;
        }
        for (const auto& kv : op) {
            if (!iequals(kv.key(), "op") && !iequals(kv.key(), "path") && !iequals(kv.key(), "value") &&
                !dialect.rewrite) {
                return Error::invalid_syntax(where + " has an unexpected member '" +
                                             std::string(kv.key()) + "'");
            }
        }
        out.operations.push_back(std::move(parsed));
    }
    return out;
}

Result<PatchOutcome> apply_patch(const SchemaRegistry& registry, const ResourceType& type,
                                 const StoredResource& current, const PatchRequest& request,
                                 const Dialect& dialect, Leniency leniency, RewriteLog& log) {
    Dialect effective = dialect;
    if (request.looks_like_entra && dialect.rewrite && dialect.source == "generic") {
        effective.create_missing_filtered = true;
    }
    Engine engine(registry, type, current, effective, leniency, log);
    for (const PatchOperation& op : request.operations) {
        if (auto r = engine.run(op); !r) {
            return r.error();
        }
    }
    return engine.finish();
}

std::optional<ScalarPatch> scalar_patch(const SchemaRegistry& registry, const ResourceType& type,
                                        const PatchRequest& request, Leniency leniency, RewriteLog& log) {
    if (type.schema != kUserSchema) {
        return std::nullopt;
    }
    const Schema* core = registry.schema(type.schema);
    ScalarPatch out;
    // One operation on one attribute; false when it is not a scalar change.
    const auto one = [&](PatchOpKind op, std::string_view name, const json::value& value, bool has_value) {
        if (name.find('.') != std::string_view::npos || name.find(':') != std::string_view::npos) {
            return false;
        }
        const AttributeDef* def = core->attribute(name);
        if (def == nullptr || def->multi_valued || def->type == AttrType::kComplex || def->required ||
            def->mutability != Mutability::kReadWrite || def->name == "userName" ||
            def->name == "displayName") {
            return false;
        }
        const auto forget = [&](std::vector<std::string>& v) { std::erase(v, def->name); };
        if (op == PatchOpKind::kRemove) {
            if (has_value && !value.is_null()) {
                return false;
            }
            out.set.erase(def->name);
            forget(out.removed);
            out.removed.push_back(def->name);
            return true;
        }
        if (!has_value) {
            return false;
        }
        auto nv = normalize_attribute(*def, value, def->name, leniency, &log);
        if (!nv) {
            return false;
        }
        if (!*nv) {
            if (op == PatchOpKind::kReplace) {
                out.set.erase(def->name);
                forget(out.removed);
                out.removed.push_back(def->name);
            }
            return true;
        }
        forget(out.removed);
        out.set[def->name] = std::move(**nv);
        return true;
    };
    for (const PatchOperation& op : request.operations) {
        if (op.path) {
            const PatchPath& p = *op.path;
            if (p.filter || !p.attr.sub.empty() || !(p.attr.urn.empty() || iequals(p.attr.urn, type.schema)) ||
                !one(op.op, p.attr.attr, op.value, op.has_value)) {
                return std::nullopt;
            }
            continue;
        }
        if (op.op == PatchOpKind::kRemove || !op.value.is_object() || op.value.as_object().empty()) {
            return std::nullopt;
        }
        for (const auto& kv : op.value.as_object()) {
            if (!one(op.op, kv.key(), kv.value(), true)) {
                return std::nullopt;
            }
        }
    }
    return out;
}

Result<void> apply_member_steps(
    std::vector<MemberRef>& members, const std::vector<MemberStep>& steps, const std::string& group_id,
    const std::function<std::optional<std::string>(const std::string& id)>& type_of,
    const SchemaRegistry& registry, const ResourceType& group_type) {
    const AttributeDef* def = registry.schema(kGroupSchema)->attribute("members");
    std::vector<MemberRef> work = members;
    const auto resolve = [&](const std::vector<MemberRef>& list) -> Result<std::vector<MemberRef>> {
        std::vector<MemberRef> out;
        for (const MemberRef& m : list) {
            const std::string id = ascii_lower(m.value);
            if (id == ascii_lower(group_id)) {
                return Error::invalid_value("a group cannot be a member of itself");
            }
            const auto t = type_of(id);
            if (!t) {
                return Error::invalid_value("member '" + m.value + "' does not exist");
            }
            out.push_back(MemberRef{id, *t, ""});
        }
        return out;
    };
    const auto has = [&](const std::string& id) {
        return std::any_of(work.begin(), work.end(), [&](const MemberRef& m) { return ascii_lower(m.value) == id; });
    };
    for (const MemberStep& step : steps) {
        switch (step.kind) {
            case MemberStep::Kind::kAdd:
            case MemberStep::Kind::kReplace: {
                auto list = resolve(step.members);
                if (!list) {
                    return list.error();
                }
                if (step.kind == MemberStep::Kind::kReplace) {
                    std::erase_if(work, [&](const MemberRef& m) {
                        return std::none_of(list->begin(), list->end(),
                                            [&](const MemberRef& n) { return n.value == ascii_lower(m.value); });
                    });
                }
                for (MemberRef& m : *list) {
                    if (!has(m.value)) {
                        work.push_back(std::move(m));
                    }
                }
                break;
            }
            case MemberStep::Kind::kRemove:
                std::erase_if(work, [&](const MemberRef& m) {
                    return std::find(step.ids.begin(), step.ids.end(), ascii_lower(m.value)) != step.ids.end();
                });
                break;
            case MemberStep::Kind::kRemoveAll:
                work.clear();
                break;
            case MemberStep::Kind::kRemoveMatching:
                std::erase_if(work, [&](const MemberRef& m) {
                    json::object e{{"value", m.value}, {"type", m.type}};
                    if (!m.display.empty()) {
                        e["display"] = m.display;
                    }
                    return element_matches(*step.filter, e, *def, registry, group_type);
                });
                break;
        }
    }
    std::sort(work.begin(), work.end(),
              [](const MemberRef& a, const MemberRef& b) { return ascii_lower(a.value) < ascii_lower(b.value); });
    members = std::move(work);
    return {};
}

}  // namespace scimbridge::scim
