#pragma once
// YAML for files people write by hand (`scim-bridge app import apps.yaml`): libyaml parses, and
// the document becomes the boost::json::value the same file written as JSON would give, so
// everything after parsing (app validation above all) is shared and unchanged.

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

namespace scimbridge::server {

// One YAML document as JSON:
// - mappings → objects (keys are scalars, taken as written; a duplicate key is an error),
//   sequences → arrays, in document order;
// - quoted, literal (|) and folded (>) scalars → strings;
// - plain scalars follow the YAML 1.2 core schema: null, Null, NULL, ~ and empty → null;
//   true/false (also True, TRUE, False, FALSE) → bool; integers (decimal, 0o octal, 0x hex) and
//   floats → numbers, read as boost::json reads them when the text is also a JSON number;
//   everything else is a string (yes, no, on, off included: they are not YAML 1.2 booleans);
// - the standard tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq, and !) are honoured.
// Refused: anchors and aliases (no billion laughs), more than one document, other tags, .inf and
// .nan (JSON has neither), and containers nested deeper than `max_depth` (boost::json's
// parse_options::max_depth counts the same way). An empty stream is null.
// Errors are one line: "line L, column C: what".
boost::system::result<boost::json::value, std::string> yaml_to_json(std::string_view text,
                                                                    std::size_t max_depth);

}  // namespace scimbridge::server
