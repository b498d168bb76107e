#pragma once
#include <string_view>
namespace scimbridge::scim {
// The RFC 7643 §8.7.1 schemas as a JSON array (see core_schemas.cpp).
std::string_view core_schemas_json();
}  // namespace scimbridge::scim
