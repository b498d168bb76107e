#pragma once
// Structured logs: one JSON object per line on stderr. Callers pass fields, never request bodies
// or credentials; the logger does not know which fields are secret, so the rule is at call sites.

#include <boost/json/object.hpp>

#include <string_view>

namespace scimbridge::server::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_level(std::string_view level);
bool enabled(Level level);

void write(Level level, std::string_view message, boost::json::object fields = {});

inline void debug(std::string_view m, boost::json::object f = {}) { write(Level::kDebug, m, std::move(f)); }
inline void info(std::string_view m, boost::json::object f = {}) { write(Level::kInfo, m, std::move(f)); }
inline void warn(std::string_view m, boost::json::object f = {}) { write(Level::kWarn, m, std::move(f)); }
inline void error(std::string_view m, boost::json::object f = {}) { write(Level::kError, m, std::move(f)); }

}  // namespace scimbridge::server::log
