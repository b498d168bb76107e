#pragma once
// Expected failures are values: Result<T> holds either a T or a scim::Error.
// Check has_value() first, then dereference; never call value() on an unchecked result.

#include "scim/error.hpp"

#include <boost/system/result.hpp>

namespace scimbridge::scim {

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace scimbridge::scim
