#pragma once
// Filter AST → SQL WHERE fragment. Every literal becomes a bound parameter: no request text ever
// becomes SQL text. Attribute paths are resolved through the schema registry; indexed columns
// serve what IdPs look up (userName, externalId, id, emails.value, displayName).

#include "scim/filter.hpp"
#include "scim/resource_store.hpp"
#include "scim/schema.hpp"

#include <string>
#include <vector>

namespace scimbridge::db {

struct SqlFragment {
    std::string sql;                  // uses :p1, :p2, ... in order
    std::vector<std::string> params;  // text values, bound in order
    // An equality on an indexed column (id, externalId, userName, displayName, emails.value),
    // alone or and-ed: the index is the plan whatever the value, so the statement can stay
    // prepared (planning it per request cost more than running it; PostgreSQL still weighs the
    // generic plan against custom ones before it keeps it).
    bool indexed_lookup = false;
};

// 400 invalidFilter for what is not supported yet (operators other than eq; and/or/not are).
scim::Result<SqlFragment> compile_filter(const scim::Filter& filter, scim::ResourceKind kind,
                                         const scim::SchemaRegistry& registry,
                                         std::size_t first_param = 1);

// A PATCH member filter (members[type eq "Group"], members[display sw "x"]) over the member
// rows of one group: a condition on scim_group_member m, with the in-memory evaluator's
// semantics (case-insensitive, an empty display counts as absent). Only value, type and display
// are supported (the PATCH engine refuses the rest).
scim::Result<SqlFragment> compile_member_filter(const scim::Filter& filter);

// The sort key of `sortBy` as a typed SQL expression over row t, and the SQL type a cursor's
// key text is cast to. 400 invalidValue for attributes that cannot order (multi-valued, complex).
struct SortSql {
    std::string expr;
    std::string type;  // "text", "timestamptz", "double precision", "boolean"
};
scim::Result<SortSql> compile_sort(const scim::AttrPath& path, scim::ResourceKind kind,
                                   const scim::SchemaRegistry& registry,
                                   std::vector<std::string>& params, std::size_t first_param);

}  // namespace scimbridge::db
