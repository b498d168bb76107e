#pragma once
// PATCH (RFC 7644 §3.5.2): the decoder, with the IdP dialect normaliser in front of it, and the
// engine that applies the operations to a resource's attributes.
//
// Group members never pass through memory on the server: member operations become MemberSteps
// that the store runs set-based (DESIGN §4), so a change costs the size of the change, not of
// the group. apply_member_steps runs the same steps on an in-memory list; it is the reference
// the store is tested against.

#include "scim/dialect.hpp"
#include "scim/filter.hpp"
#include "scim/resource.hpp"
#include "scim/resource_store.hpp"
#include "scim/schema.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scimbridge::scim {

inline constexpr std::string_view kPatchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

enum class PatchOpKind { kAdd, kRemove, kReplace };

struct PatchOperation {
    PatchOpKind op = PatchOpKind::kAdd;
    std::optional<PatchPath> path;
    boost::json::value value;  // null when absent
    bool has_value = false;
};

struct PatchRequest {
    std::vector<PatchOperation> operations;
    // The request showed Entra's dialect (capitalised ops) though the credential's source is
    // generic: Entra's semantics apply (Dialect::create_missing_filtered).
    bool looks_like_entra = false;
};

struct PatchLimits {
    std::size_t max_operations = 1000;
};

// The body as RFC 7644 form, rewriting the dialect's shapes when `dialect.rewrite` (each noted
// in `log`) and naming them in a 400 otherwise: capitalised ops, no-path values with dotted or
// URN-qualified keys. 400 invalidSyntax / invalidPath / invalidValue on malformed bodies.
Result<PatchRequest> decode_patch(const boost::json::value& body, const Dialect& dialect,
                                  RewriteLog& log, const PatchLimits& limits = {});

struct PatchOutcome {
    boost::json::object document;  // the new attributes (canonical, validated)
    std::optional<std::string> external_id;
    std::vector<std::string> schemas;
    bool attributes_changed = false;
    std::vector<std::string> changed;  // attribute names that changed (members not included)
    std::vector<MemberStep> member_steps;
};

// Applies `request` to `current` (its document, externalId and schemas; members are not read).
// Enforces mutability (readOnly, immutable, required → 400 mutability), noTarget, invalidPath and
// invalidValue; validates the result like a PUT body. All or nothing: an error leaves nothing.
Result<PatchOutcome> apply_patch(const SchemaRegistry& registry, const ResourceType& type,
                                 const StoredResource& current, const PatchRequest& request,
                                 const Dialect& dialect, Leniency leniency, RewriteLog& log);

// The request as a ScalarPatch when every operation sets or clears a top-level singular simple
// attribute of the core schema that is readWrite, optional and not a lookup column (userName,
// displayName, externalId): then it needs no read of the resource (the store's one-statement
// shortcut). nullopt for anything else, including invalid values (the engine reports those).
std::optional<ScalarPatch> scalar_patch(const SchemaRegistry& registry, const ResourceType& type,
                                        const PatchRequest& request, Leniency leniency, RewriteLog& log);

// The member steps on an in-memory member list (the reference semantics of the store):
// `type_of(id)` says whether an id is a "User" or a "Group" of the tenant (nullopt: unknown →
// 400 invalidValue). Members are kept ordered by id, as the store returns them.
Result<void> apply_member_steps(
    std::vector<MemberRef>& members, const std::vector<MemberStep>& steps,
    const std::string& group_id,
    const std::function<std::optional<std::string>(const std::string& id)>& type_of,
    const SchemaRegistry& registry, const ResourceType& group_type);

}  // namespace scimbridge::scim
