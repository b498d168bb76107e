#include "db/sql_text.hpp"

#include "scim/datetime.hpp"

namespace scimbridge::db {

std::string scim_time_from_pg(std::string_view text) {
    const auto instant = scim::parse_datetime(text, /*offset_seconds=*/true);
    if (!instant) {
        return std::string(text);
    }
    auto scim_text = scim::format_datetime_millis(*instant);
    return scim_text ? std::move(*scim_text) : std::string(text);
}

}  // namespace scimbridge::db
