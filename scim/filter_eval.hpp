#pragma once
// The in-memory SCIM filter evaluator (RFC 7644 §3.4.2.2): one resource, one filter, yes or no.
// It is the reference the SQL compiler (db/filter_sql.cpp) is tested against, so both follow one
// written semantics: case-insensitive strings lowered per code point as PostgreSQL lower() does
// under lc_ctype C.UTF-8, ordering by code point (COLLATE "C"), any-match on multi-valued
// attributes, two-valued logic (ne and not are true when the attribute is absent).

#include "scim/filter.hpp"
#include "scim/resource_store.hpp"
#include "scim/result.hpp"
#include "scim/schema.hpp"

namespace scimbridge::scim {

// Whether `resource` matches `filter` (RFC 7644 §3.4.2.2), with the same semantics as the SQL
// compiler in db/filter_sql.cpp. The filter must already have passed check_filter_attributes
// (and check_filter_semantics); a comparison that would not pass them matches nothing.
bool matches(const Filter& filter, const StoredResource& resource, const SchemaRegistry& registry,
             const ResourceType& type);

// Whether one element of a multi-valued complex attribute (`parent`) matches the inner filter of
// a value path (emails[type eq "work"]): the same comparisons as `matches`, for PATCH targets.
bool element_matches(const Filter& inner, const boost::json::object& element,
                     const AttributeDef& parent, const SchemaRegistry& registry,
                     const ResourceType& type);

// check_filter_semantics for the inner filter of a value path on `parent`.
Result<void> check_element_filter(const Filter& inner, const AttributeDef& parent,
                                  const SchemaRegistry& registry, const ResourceType& type);

// 400 invalidFilter for comparisons the semantics refuse (checked before any evaluation): a
// literal of the wrong JSON type for the attribute, an operator the type does not order
// (co/sw/ew on numbers, dates and binary; gt/ge/lt/le on booleans and binary), null with anything
// but eq/ne, a complex attribute compared without a sub-attribute, a value filter on an attribute
// that is not multi-valued complex, User groups, and Group members other than members eq "<id>".
Result<void> check_filter_semantics(const Filter& filter, const SchemaRegistry& registry,
                                    const ResourceType& type);

}  // namespace scimbridge::scim
