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

// Appends the current UTC time with milliseconds (2026-01-02T03:04:05.678Z). The text up to
// the second is formatted once a second per thread, not for every line.
void append_timestamp(std::string& out) {
    thread_local std::time_t cached_second = -1;
    thread_local char cached[24] = {};
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    if (t != cached_second) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_second = t;
    }
    const auto ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
    out += cached;
    out.push_back('.');
    out.push_back(static_cast<char>('0' + ms / 100));
    out.push_back(static_cast<char>('0' + ms / 10 % 10));
    out.push_back(static_cast<char>('0' + ms % 10));
    out.push_back('Z');
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
    // One JSON object per line: ts, level, msg, then the fields in their order. Serialised
    // straight into the line (no object built for it: this runs for every request).
    std::string text;
    text.reserve(160);
    text += R"({"ts":")";
    append_timestamp(text);
    text += R"(","level":")";
    text += name(level);
    text += R"(","msg":)";
    text += boost::json::serialize(boost::json::string_view(message.data(), message.size()));
    for (const auto& [key, value] : fields) {
        text.push_back(',');
        text += boost::json::serialize(key);
        text.push_back(':');
        text += boost::json::serialize(value);
    }
    text += "}\n";
    const std::lock_guard lock(g_write_mutex);
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace scimbridge::server::log
