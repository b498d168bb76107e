#pragma once
// A downstream app of a tenant: who gets an account (scope), what the app receives (user and
// group mappings), how accounts start (policies, DESIGN §5) and where deliveries go (connector).
// Decoded from and rendered to the JSON of the admin API and of `scim-bridge app import`.

#include "mappers/connector.hpp"
#include "mappers/mapping.hpp"
#include "scim/filter.hpp"
#include "scim/result.hpp"
#include "scim/schema.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scimbridge::mappers {

enum class InvitePolicy { kNow, kLater, kNever };  // never: SSO-only, accounts start active
enum class ActivationPolicy { kOnClaim, kOnFirstLogin, kOnApproval };
enum class ApprovalPolicy { kAutoAll, kDomainAllowlist, kManual };
// What reconciliation does with an account the app holds that should not exist (an orphan):
// deactivate it (block, the default), delete it, or only report it.
enum class OrphanPolicy { kBlock, kDelete, kIgnore };

struct AppPolicies {
    InvitePolicy invite = InvitePolicy::kLater;
    ActivationPolicy activation = ActivationPolicy::kOnClaim;
    ApprovalPolicy approval = ApprovalPolicy::kAutoAll;
    std::vector<std::string> approve_domains;  // kDomainAllowlist
    std::string locale = "en";  // invitation mails, unless the user has a preferredLanguage/locale
    std::string copy_to;        // an HR/IT address that gets a summary of each invitation
    bool invite_email = true;   // invitations are mailed (when the bridge has SMTP configured)
    OrphanPolicy orphans = OrphanPolicy::kBlock;
};

// The "policies" object of an app (admin API, import file, stored definition).
scim::Result<AppPolicies> decode_policies(const boost::json::object& json);

struct AppDefinition {
    std::string id;  // empty until stored
    std::string name;
    std::string connector;  // "webhook" or "scim"
    bool enabled = true;
    std::int64_t version = 0;

    // Scope: users matching the filter (all users when empty) and, when set, members (direct or
    // nested) of the group.
    std::string scope_filter_text;
    std::shared_ptr<const scim::Filter> scope_filter;
    std::optional<std::string> scope_group;

    boost::json::object mapping_rules;  // as written; empty: the identity mapping
    std::shared_ptr<const Mapping> mapping;

    bool groups = false;  // the app receives groups
    std::string group_filter_text;
    std::shared_ptr<const scim::Filter> group_filter;
    boost::json::object group_mapping_rules;
    std::shared_ptr<const Mapping> group_mapping;

    AppPolicies policies;
    WebhookConfig webhook;
    ScimTargetConfig scim;

    // Whether group deliveries must reach the worker (the app receives groups, or its scope
    // depends on a group's members).
    bool needs_group_events() const { return groups || scope_group.has_value(); }
};

// Decodes an app from its JSON (admin API body, import file). Filters are checked against the
// registry's User and Group types; mappings are parsed. A webhook app without secrets gets one
// generated. 400 invalidValue/invalidFilter naming the field on anything wrong.
scim::Result<AppDefinition> decode_app(const boost::json::object& json,
                                       const scim::SchemaRegistry& registry);

// The stored form (secrets included; never sent to clients).
boost::json::object to_stored_json(const AppDefinition& app);

// The form shown to admins: secrets replaced by a hint ("whsec_…abcd"), the SCIM token omitted.
boost::json::object to_public_json(const AppDefinition& app);

// An update: fields present in `patch` replace the stored ones (connector secrets are kept when
// the patch leaves them out, so an admin can change a URL without re-entering a secret).
boost::json::object merge_app_json(const boost::json::object& stored, const boost::json::object& patch);

std::string_view to_string(InvitePolicy policy);

}  // namespace scimbridge::mappers
