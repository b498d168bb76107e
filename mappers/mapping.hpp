#pragma once
// Attribute mapping: what a downstream app receives, computed from the canonical SCIM resource by
// expressions modelled on Microsoft Entra's attribute-mapping expressions
// (Join(" ", [name.givenName], [name.familyName])). The grammar, the functions and the error
// rules are in mappers/README.md. Parsing happens once, when a mapping is saved or loaded;
// evaluation runs per resource per app and neither throws nor re-parses.

#include "scim/result.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scimbridge::mappers {

inline constexpr std::size_t kMaxExpressionLength = 4096;  // bytes
inline constexpr std::size_t kMaxExpressionDepth = 32;     // nested function calls
inline constexpr std::size_t kMaxArguments = 64;           // per call
inline constexpr std::size_t kMaxMappingRules = 256;

namespace detail {
struct Compiled;
}

// The value, or null and an error ("position N: Left: ..."): wrong argument types, a date that
// does not match its format. A missing attribute is null, not an error.
struct EvalResult {
    boost::json::value value;
    std::optional<std::string> error;
};

// A parsed expression: immutable and shared, so copies are cheap and one Expression may be
// evaluated from many threads at once.
class Expression {
public:
    const std::string& text() const;  // as written

private:
    explicit Expression(std::shared_ptr<const detail::Compiled> compiled)
        : compiled_(std::move(compiled)) {}

    std::shared_ptr<const detail::Compiled> compiled_;

    friend scim::Result<Expression> parse_expression(std::string_view text);
    friend EvalResult evaluate(const Expression& expression,
                               const boost::json::object& resource) noexcept;
};

// 400 invalidValue with "position N: ..." (N is the 1-based character) in the detail: syntax
// errors, unknown functions, wrong argument counts, malformed attribute paths and value filters,
// and the limits above.
scim::Result<Expression> parse_expression(std::string_view text);

// Never throws: every failure comes back in EvalResult::error.
EvalResult evaluate(const Expression& expression, const boost::json::object& resource) noexcept;

// A whole mapping: target path ← expression, in the order written. A target is a dotted path
// ("email", "name.first"); the payload nests objects along it.
struct MappingRule {
    std::string target;
    Expression expression;
};

struct Mapping {
    std::vector<MappingRule> rules;
};

// {"target": "expression", ...}. 400 invalidValue naming the target (and the position within its
// expression): a value that is not a string, an empty or malformed target, a target inside
// another one ("name" and "name.first"), more than kMaxMappingRules rules.
scim::Result<Mapping> parse_mapping(const boost::json::object& rules);

// Rules whose expression is null are omitted from the payload; a rule that fails is left out and
// reported as "target: message". One failing rule never stops the others.
struct MappedResult {
    boost::json::object payload;
    std::vector<std::string> errors;
};

MappedResult apply_mapping(const Mapping& mapping, const boost::json::object& resource);

// What an app without a mapping receives: the resource as it is, minus "meta", "groups" and
// "password" (case-insensitively): bookkeeping, membership (Groups carry it) and a
// secret are not attributes of the person.
boost::json::object identity_mapping(const boost::json::object& resource);

}  // namespace scimbridge::mappers
