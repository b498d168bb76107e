#pragma once
// SCIM filters (RFC 7644 §3.4.2.2): the whole grammar parsed into an AST. One parser serves
// list filters and (later) PATCH paths; the SQL compiler (db/) and the in-memory evaluator read
// the same AST.

#include "scim/result.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace scimbridge::scim {

// [urn ":"] attr ["." sub]
struct AttrPath {
    std::string urn;   // schema URN as written, or empty
    std::string attr;  // attribute name as written
    std::string sub;   // sub-attribute name, or empty
    std::string to_string() const;
};

enum class CompareOp { kEq, kNe, kCo, kSw, kEw, kGt, kGe, kLt, kLe };
std::string_view to_string(CompareOp op);

struct Filter;
using FilterPtr = std::unique_ptr<Filter>;

struct Filter {
    enum class Kind { kCompare, kPresent, kAnd, kOr, kNot, kValuePath };
    Kind kind = Kind::kCompare;
    AttrPath path;              // kCompare, kPresent, kValuePath
    CompareOp op = CompareOp::kEq;
    boost::json::value value;   // kCompare: string, number, bool or null
    FilterPtr left;             // kAnd/kOr: left; kNot: operand; kValuePath: the inner filter
    FilterPtr right;            // kAnd/kOr
};

struct FilterLimits {
    std::size_t max_length = 4096;
    std::size_t max_depth = 32;
};

// 400 invalidFilter with the position (1-based character) in the detail.
Result<FilterPtr> parse_filter(std::string_view text, const FilterLimits& limits = {});

// Canonical, fully parenthesised text: ((a eq "x") and (b pr)).
std::string to_string(const Filter& filter);

// Splits "urn:...:User:manager.value" / "name.givenName" / "userName" into an AttrPath.
Result<AttrPath> parse_attr_path(std::string_view text);

// A PATCH path (RFC 7644 §3.5.2): attrPath, or valuePath with an optional sub-attribute:
//   name.givenName · emails[type eq "work"] · emails[type eq "work"].value ·
//   urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
// Parsed by the filter parser, so paths and filters share one grammar.
struct PatchPath {
    AttrPath attr;          // attr.sub is set only without a value filter
    std::shared_ptr<const Filter> filter;  // the value filter inside [...], or null
    std::string filter_sub; // the sub-attribute after [...], or empty
    std::string text;       // as written, for error messages
};

// 400 invalidPath with the position on anything malformed.
Result<PatchPath> parse_patch_path(std::string_view text, const FilterLimits& limits = {});

}  // namespace scimbridge::scim
