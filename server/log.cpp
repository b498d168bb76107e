#include "server/log.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace scimbridge::server::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_write_mutex;

std::string_view name(Level level) {
    switch (level) {
        case Level::kDebug: return "debug";
        case Level::kInfo: return "info";
        case Level::kWarn: return "warn";
        case Level::kError: return "error";
    }
    return "info";
}

std::string timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[40];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms.count()));
    return out;
}
}  // namespace

void set_level(std::string_view level) {
    for (const Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
        if (name(l) == level) {
            g_level.store(static_cast<int>(l));
        }
    }
}

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void write(Level level, std::string_view message, boost::json::object fields) {
    if (!enabled(level)) {
        return;
    }
    boost::json::object line;
    line["ts"] = timestamp();
    line["level"] = name(level);
    line["msg"] = message;
    for (auto& [key, value] : fields) {
        line[key] = std::move(value);
    }
    std::string text = boost::json::serialize(line);
    text.push_back('\n');
    const std::lock_guard lock(g_write_mutex);
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace scimbridge::server::log
