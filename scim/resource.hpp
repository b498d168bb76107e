#pragma once
// A SCIM resource on its way in and out, driven by the schema registry:
//   normalize_resource — validate a client body (POST/PUT) and rewrite it into canonical form:
//                        attribute names in schema case, types checked (and coerced in lenient
//                        mode), readOnly input dropped, writeOnly (password) removed, required
//                        attributes present, at most one primary per multi-valued attribute.
//   check_immutable    — PUT must not change an immutable attribute that has a value.
//   project            — attributes / excludedAttributes with the `returned` characteristic.
//   changed_attributes — names of the attributes that differ between two versions.

#include "scim/dialect.hpp"
#include "scim/filter.hpp"
#include "scim/schema.hpp"

#include <boost/json/object.hpp>

#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace scimbridge::scim {

// How forgiving the decoder is, chosen per credential. Every mode treats null as "no value"
// (RFC 7643 §2.5).
//   kStrict  — RFC shapes only (the token's strict mode).
//   kCoerce  — also rewrites the shapes IdPs are known to send: "True"/"False" and quoted
//              numbers, a simple value wrapped as [{"value": x}], a single value for a
//              multi-valued attribute, a complex attribute with a "value" sub-attribute sent as a
//              bare string or a one-element array (Entra's manager), missing schemas. Each
//              rewrite is noted in the RewriteLog. Unknown attributes are still a 400.
//   kLenient — kCoerce, and attributes no schema declares are dropped (Entra's and OneLogin's
//              documented bodies carry stray keys).
enum class Leniency { kStrict, kCoerce, kLenient };

struct NormalizedResource {
    boost::json::object document;  // canonical attributes, without id, meta, members, groups
    std::vector<std::string> schemas;
    std::optional<std::string> external_id;
    bool had_password = false;     // accepted and discarded: the bridge never stores passwords
    // Group members from the body (value and optional type), when the body had a members key.
    std::optional<std::vector<std::pair<std::string, std::string>>> members;
};

Result<NormalizedResource> normalize_resource(const SchemaRegistry& registry,
                                              const ResourceType& type,
                                              const boost::json::value& body, Leniency leniency,
                                              RewriteLog* log = nullptr);

// One attribute's value as normalize_resource would store it (nullopt: no value). `where` names
// the attribute in error messages. Used by PATCH for the value of each operation.
Result<std::optional<boost::json::value>> normalize_attribute(const AttributeDef& def,
                                                              const boost::json::value& value,
                                                              const std::string& where,
                                                              Leniency leniency,
                                                              RewriteLog* log = nullptr);

// 400 mutability when `replacement` changes an immutable attribute that `current` has set.
Result<void> check_immutable(const SchemaRegistry& registry, const ResourceType& type,
                             const boost::json::object& current,
                             const boost::json::object& replacement);

struct Projection {
    std::vector<AttrPath> attributes;           // empty: the default set
    std::vector<AttrPath> excluded_attributes;
};

// Parses a comma-separated attributes / excludedAttributes list; 400 invalidValue on bad paths.
Result<std::vector<AttrPath>> parse_attribute_list(std::string_view text);

// Whether `attr` (top-level, core or extension) would be returned under `projection`.
bool is_returned(const SchemaRegistry& registry, const ResourceType& type,
                 const Projection& projection, std::string_view urn, std::string_view attr);

// What a read must load so that `projection` can be answered: group members and user groups
// only when they will be returned (excludedAttributes=members never reads membership rows).
struct LoadPlan {
    bool members = false;
    bool groups = false;
};
LoadPlan load_plan(const SchemaRegistry& registry, const ResourceType& type,
                   const Projection& projection);

// Applies a projection to full resources (with id, meta, members/groups already in place) of
// one type. A list page projects a thousand resources with the same attribute names: what the
// projection says of each name is worked out once and remembered. Values are moved, not copied,
// into a result in the resource's storage. Not for use from two threads at once.
class Projector {
public:
    Projector(const SchemaRegistry& registry, const ResourceType& type, const Projection& projection);
    boost::json::object operator()(boost::json::object resource) const;

private:
    struct Verdict {
        bool returned = false;
        std::vector<std::string> subs;   // attributes=emails.value: keep only these (empty: all)
        std::vector<std::string> drops;  // excludedAttributes=emails.type: remove these
    };
    const Verdict& verdict(std::string_view urn, std::string_view attr) const;
    const Schema* extension(std::string_view key) const;  // the extension schema `key` names

    const SchemaRegistry& registry_;
    const ResourceType& type_;
    const Projection& projection_;
    mutable std::unordered_map<std::string, Verdict> verdicts_;         // "urn\x1fattr"
    mutable std::unordered_map<std::string, const Schema*> extensions_;  // top-level key
};

// One resource: Projector(registry, type, projection)(resource).
boost::json::object project(const SchemaRegistry& registry, const ResourceType& type,
                            boost::json::object resource, const Projection& projection);

// Top-level attribute names whose values differ; extension attributes as "urn:...:name".
std::vector<std::string> changed_attributes(const boost::json::object& before,
                                            const boost::json::object& after);

}  // namespace scimbridge::scim
