#include "mappers/app.hpp"

#include "mappers/mail.hpp"

#include "mappers/webhook_signature.hpp"
#include "scim/filter_eval.hpp"
#include "scim/resource_service.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace scimbridge::mappers {

namespace json = boost::json;
using scim::Error;
using scim::Result;

namespace {

constexpr std::size_t kMaxUrl = 2048;

Result<std::string> string_field(const json::object& o, std::string_view key, std::string_view where,
                                 bool required, std::string fallback = {}) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        if (required) {
            return Error::invalid_value(std::string(where) + std::string(key) + " is required");
        }
        return fallback;
    }
    if (!v->is_string()) {
        return Error::invalid_value(std::string(where) + std::string(key) + " must be a string");
    }
    return std::string(v->as_string());
}

Result<bool> bool_field(const json::object& o, std::string_view key, std::string_view where, bool fallback) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return fallback;
    }
    if (!v->is_bool()) {
        return Error::invalid_value(std::string(where) + std::string(key) + " must be true or false");
    }
    return v->as_bool();
}

Result<json::object> object_field(const json::object& o, std::string_view key, std::string_view where) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return json::object();
    }
    if (!v->is_object()) {
        return Error::invalid_value(std::string(where) + std::string(key) + " must be an object");
    }
    return v->as_object();
}

// A filter over `type_id` resources, checked like a list filter.
Result<std::shared_ptr<const scim::Filter>> scope_filter(const std::string& text,
                                                         const scim::SchemaRegistry& registry,
                                                         std::string_view type_id, std::string_view field) {
    if (text.empty()) {
        return std::shared_ptr<const scim::Filter>();
    }
    auto parsed = scim::parse_filter(text);
    if (!parsed) {
        return Error::invalid_filter(std::string(field) + ": " + parsed.error().detail);
    }
    const scim::ResourceType* type = registry.resource_type(type_id);
    if (type == nullptr) {
        return Error::invalid_value(std::string(field) + ": unknown resource type");
    }
    if (auto ok = scim::check_filter_attributes(registry, *type, **parsed); !ok) {
        return Error::invalid_filter(std::string(field) + ": " + ok.error().detail);
    }
    if (auto ok = scim::check_filter_semantics(**parsed, registry, *type); !ok) {
        return Error::invalid_filter(std::string(field) + ": " + ok.error().detail);
    }
    return std::shared_ptr<const scim::Filter>(std::move(*parsed));
}

Result<std::shared_ptr<const Mapping>> mapping_of(const json::object& rules, std::string_view field) {
    if (rules.empty()) {
        return std::shared_ptr<const Mapping>();
    }
    auto parsed = parse_mapping(rules);
    if (!parsed) {
        return Error::invalid_value(std::string(field) + ": " + parsed.error().detail);
    }
    return std::make_shared<const Mapping>(std::move(*parsed));
}

Result<std::string> url_field(const json::object& o, std::string_view key, std::string_view where) {
    auto url = string_field(o, key, where, true);
    if (!url) {
        return url;
    }
    const bool https = url->starts_with("https://");
    const bool http = url->starts_with("http://");
    if ((!https && !http) || url->size() > kMaxUrl || url->find_first_of(" \r\n\t") != std::string::npos) {
        return Error::invalid_value(std::string(where) + std::string(key) +
                                    " must be an http(s) URL of at most 2048 characters");
    }
    return url;
}

template <typename E, std::size_t N>
Result<E> enum_field(const json::object& o, std::string_view key, std::string_view where,
                     const std::array<std::pair<std::string_view, E>, N>& names, E fallback) {
    auto text = string_field(o, key, where, false);
    if (!text) {
        return text.error();
    }
    if (text->empty()) {
        return fallback;
    }
    for (const auto& [name, value] : names) {
        if (*text == name) {
            return value;
        }
    }
    std::string allowed;
    for (const auto& [name, value] : names) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(name);
    }
    return Error::invalid_value(std::string(where) + std::string(key) + " must be one of " + allowed);
}

constexpr std::array<std::pair<std::string_view, InvitePolicy>, 3> kInviteNames{{
    {"now", InvitePolicy::kNow}, {"later", InvitePolicy::kLater}, {"never", InvitePolicy::kNever}}};
constexpr std::array<std::pair<std::string_view, ActivationPolicy>, 3> kActivationNames{{
    {"on_claim", ActivationPolicy::kOnClaim},
    {"on_first_login", ActivationPolicy::kOnFirstLogin},
    {"on_approval", ActivationPolicy::kOnApproval}}};
constexpr std::array<std::pair<std::string_view, ApprovalPolicy>, 3> kApprovalNames{{
    {"auto", ApprovalPolicy::kAutoAll},
    {"domains", ApprovalPolicy::kDomainAllowlist},
    {"manual", ApprovalPolicy::kManual}}};
constexpr std::array<std::pair<std::string_view, OrphanPolicy>, 3> kOrphanNames{{
    {"block", OrphanPolicy::kBlock},
    {"delete", OrphanPolicy::kDelete},
    {"ignore", OrphanPolicy::kIgnore}}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, E>, N>& names, E value) {
    for (const auto& [name, v] : names) {
        if (v == value) {
            return name;
        }
    }
    return names[0].first;
}

}  // namespace

Result<AppPolicies> decode_policies(const json::object& o) {
    AppPolicies p;
    auto invite = enum_field(o, "invite", "policies.", kInviteNames, InvitePolicy::kLater);
    if (!invite) return invite.error();
    auto activation = enum_field(o, "activation", "policies.", kActivationNames, ActivationPolicy::kOnClaim);
    if (!activation) return activation.error();
    auto approval = enum_field(o, "approval", "policies.", kApprovalNames, ApprovalPolicy::kAutoAll);
    if (!approval) return approval.error();
    auto orphans = enum_field(o, "orphans", "policies.", kOrphanNames, OrphanPolicy::kBlock);
    if (!orphans) return orphans.error();
    p.invite = *invite;
    p.activation = *activation;
    p.approval = *approval;
    p.orphans = *orphans;
    if (const json::value* d = o.if_contains("approve_domains"); d != nullptr && !d->is_null()) {
        if (!d->is_array()) {
            return Error::invalid_value("policies.approve_domains must be an array of strings");
        }
        for (const json::value& v : d->as_array()) {
            if (!v.is_string() || v.as_string().empty()) {
                return Error::invalid_value("policies.approve_domains must be an array of strings");
            }
            p.approve_domains.emplace_back(v.as_string());
        }
    }
    if (p.approval == ApprovalPolicy::kDomainAllowlist && p.approve_domains.empty()) {
        return Error::invalid_value("policies.approval \"domains\" needs policies.approve_domains");
    }
    const auto text = [&](const char* key, std::size_t max, std::string& out) -> Result<void> {
        const json::value* v = o.if_contains(key);
        if (v == nullptr || v->is_null()) {
            return {};
        }
        if (!v->is_string() || v->as_string().size() > max) {
            return Error::invalid_value(std::string("policies.") + key + " must be a string of at most " +
                                        std::to_string(max) + " characters");
        }
        out = std::string(v->as_string());
        return {};
    };
    if (auto r = text("locale", 35, p.locale); !r) return r.error();
    if (auto r = text("copy_to", 254, p.copy_to); !r) return r.error();
    if (!p.copy_to.empty() && !is_plausible_email(p.copy_to)) {
        return Error::invalid_value("policies.copy_to must be an email address");
    }
    if (const json::value* v = o.if_contains("invite_email"); v != nullptr && !v->is_null()) {
        if (!v->is_bool()) {
            return Error::invalid_value("policies.invite_email must be a boolean");
        }
        p.invite_email = v->as_bool();
    }
    return p;
}

namespace {

json::object policies_json(const AppPolicies& p) {
    json::array domains;
    for (const std::string& d : p.approve_domains) {
        domains.emplace_back(d);
    }
    return {{"invite", name_of(kInviteNames, p.invite)},
            {"activation", name_of(kActivationNames, p.activation)},
            {"approval", name_of(kApprovalNames, p.approval)},
            {"approve_domains", std::move(domains)},
            {"locale", p.locale},
            {"copy_to", p.copy_to},
            {"invite_email", p.invite_email},
            {"orphans", name_of(kOrphanNames, p.orphans)}};
}

std::string secret_hint(const std::string& secret) {
    return secret.size() > 10 ? secret.substr(0, 6) + "…" + secret.substr(secret.size() - 4) : "…";
}

}  // namespace

std::string_view to_string(InvitePolicy policy) { return name_of(kInviteNames, policy); }

Result<AppDefinition> decode_app(const json::object& o, const scim::SchemaRegistry& registry) {
    AppDefinition app;
    auto name = string_field(o, "name", "", true);
    if (!name) return name.error();
    if (name->empty() || name->size() > 200) {
        return Error::invalid_value("name must be 1 to 200 characters");
    }
    app.name = *name;
    auto connector = string_field(o, "connector", "", true);
    if (!connector) return connector.error();
    if (*connector != "webhook" && *connector != "scim") {
        return Error::invalid_value("connector must be \"webhook\" or \"scim\"");
    }
    app.connector = *connector;
    auto enabled = bool_field(o, "enabled", "", true);
    if (!enabled) return enabled.error();
    app.enabled = *enabled;

    auto scope = object_field(o, "scope", "");
    if (!scope) return scope.error();
    auto filter_text = string_field(*scope, "filter", "scope.", false);
    if (!filter_text) return filter_text.error();
    app.scope_filter_text = *filter_text;
    auto filter = scope_filter(app.scope_filter_text, registry, "User", "scope.filter");
    if (!filter) return filter.error();
    app.scope_filter = *filter;
    auto group = string_field(*scope, "group", "scope.", false);
    if (!group) return group.error();
    if (!group->empty()) {
        app.scope_group = *group;
    }

    auto mapping = object_field(o, "mapping", "");
    if (!mapping) return mapping.error();
    app.mapping_rules = *mapping;
    auto user_mapping = mapping_of(app.mapping_rules, "mapping");
    if (!user_mapping) return user_mapping.error();
    app.mapping = *user_mapping;

    auto groups = object_field(o, "groups", "");
    if (!groups) return groups.error();
    auto groups_enabled = bool_field(*groups, "enabled", "groups.", false);
    if (!groups_enabled) return groups_enabled.error();
    app.groups = *groups_enabled;
    auto group_filter_text = string_field(*groups, "filter", "groups.", false);
    if (!group_filter_text) return group_filter_text.error();
    app.group_filter_text = *group_filter_text;
    auto gfilter = scope_filter(app.group_filter_text, registry, "Group", "groups.filter");
    if (!gfilter) return gfilter.error();
    app.group_filter = *gfilter;
    auto group_rules = object_field(*groups, "mapping", "groups.");
    if (!group_rules) return group_rules.error();
    app.group_mapping_rules = *group_rules;
    auto group_mapping = mapping_of(app.group_mapping_rules, "groups.mapping");
    if (!group_mapping) return group_mapping.error();
    app.group_mapping = *group_mapping;

    auto policies = object_field(o, "policies", "");
    if (!policies) return policies.error();
    auto decoded_policies = decode_policies(*policies);
    if (!decoded_policies) return decoded_policies.error();
    app.policies = *decoded_policies;

    if (app.connector == "webhook") {
        auto wh = object_field(o, "webhook", "");
        if (!wh) return wh.error();
        auto url = url_field(*wh, "url", "webhook.");
        if (!url) return url.error();
        app.webhook.url = *url;
        if (const json::value* s = wh->if_contains("secrets"); s != nullptr && !s->is_null()) {
            if (!s->is_array() || s->as_array().size() > 2) {
                return Error::invalid_value("webhook.secrets must be an array of one or two secrets");
            }
            for (const json::value& v : s->as_array()) {
                if (!v.is_string() || !decode_webhook_secret(v.as_string())) {
                    return Error::invalid_value(
                        "webhook.secrets: each must be \"whsec_\" + base64 of 16 to 64 bytes");
                }
                app.webhook.secrets.emplace_back(v.as_string());
            }
        }
        if (app.webhook.secrets.empty()) {
            app.webhook.secrets.push_back(generate_webhook_secret());
        }
    } else {
        auto sc = object_field(o, "scim", "");
        if (!sc) return sc.error();
        auto url = url_field(*sc, "base_url", "scim.");
        if (!url) return url.error();
        app.scim.base_url = *url;
        auto token = string_field(*sc, "token", "scim.", true);
        if (!token) return token.error();
        if (token->empty() || token->size() > 4096 || token->find_first_of("\r\n") != std::string::npos) {
            return Error::invalid_value("scim.token must be 1 to 4096 characters on one line");
        }
        app.scim.bearer_token = *token;
        auto del = bool_field(*sc, "delete_users", "scim.", false);
        if (!del) return del.error();
        app.scim.delete_users = *del;
        if (const json::value* c = sc->if_contains("member_chunk"); c != nullptr && !c->is_null()) {
            if (!c->is_int64() || c->as_int64() < 1 || c->as_int64() > 10000) {
                return Error::invalid_value("scim.member_chunk must be an integer from 1 to 10000");
            }
            app.scim.member_chunk = static_cast<std::size_t>(c->as_int64());
        }
    }
    return app;
}

namespace {
json::object common_json(const AppDefinition& app) {
    json::object scope{{"filter", app.scope_filter_text}};
    if (app.scope_group) {
        scope["group"] = *app.scope_group;
    }
    json::object o{{"name", app.name},
                   {"connector", app.connector},
                   {"enabled", app.enabled},
                   {"scope", std::move(scope)},
                   {"mapping", app.mapping_rules},
                   {"groups", json::object{{"enabled", app.groups},
                                           {"filter", app.group_filter_text},
                                           {"mapping", app.group_mapping_rules}}},
                   {"policies", policies_json(app.policies)}};
    if (!app.id.empty()) {
        o["id"] = app.id;
        o["version"] = app.version;
    }
    return o;
}
}  // namespace

json::object to_stored_json(const AppDefinition& app) {
    json::object o = common_json(app);
    o.erase("id");
    o.erase("version");
    if (app.connector == "webhook") {
        json::array secrets;
        for (const std::string& s : app.webhook.secrets) {
            secrets.emplace_back(s);
        }
        o["webhook"] = json::object{{"url", app.webhook.url}, {"secrets", std::move(secrets)}};
    } else {
        o["scim"] = json::object{{"base_url", app.scim.base_url},
                                 {"token", app.scim.bearer_token},
                                 {"delete_users", app.scim.delete_users},
                                 {"member_chunk", app.scim.member_chunk}};
    }
    return o;
}

json::object to_public_json(const AppDefinition& app) {
    json::object o = common_json(app);
    if (app.connector == "webhook") {
        json::array hints;
        for (const std::string& s : app.webhook.secrets) {
            hints.emplace_back(secret_hint(s));
        }
        o["webhook"] = json::object{{"url", app.webhook.url}, {"secrets", std::move(hints)}};
    } else {
        o["scim"] = json::object{{"base_url", app.scim.base_url},
                                 {"delete_users", app.scim.delete_users},
                                 {"member_chunk", app.scim.member_chunk}};
    }
    return o;
}

json::object merge_app_json(const json::object& stored, const json::object& patch) {
    json::object merged = stored;
    for (const auto& [key, value] : patch) {
        if ((key == "webhook" || key == "scim") && value.is_object() && stored.contains(key) &&
            stored.at(key).is_object()) {
            json::object inner = stored.at(key).as_object();
            for (const auto& [k, v] : value.as_object()) {
                inner[k] = v;
            }
            merged[key] = std::move(inner);
        } else {
            merged[key] = value;
        }
    }
    return merged;
}

}  // namespace scimbridge::mappers
