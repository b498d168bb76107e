#include "mappers/connector.hpp"

#include "scim/schema.hpp"
#include "scim/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <array>
#include <ctime>

namespace scimbridge::mappers {

namespace json = boost::json;
using std::chrono::seconds;

std::string_view to_string(EventType type) {
    switch (type) {
        case EventType::kUserCreated:
            return "user.created";
        case EventType::kUserUpdated:
            return "user.updated";
        case EventType::kUserDeactivated:
            return "user.deactivated";
        case EventType::kUserReactivated:
            return "user.reactivated";
        case EventType::kUserDeleted:
            return "user.deleted";
        case EventType::kGroupCreated:
            return "group.created";
        case EventType::kGroupUpdated:
            return "group.updated";
        case EventType::kGroupDeleted:
            return "group.deleted";
        case EventType::kAccountInvited:
            return "account.invited";
        case EventType::kAccountInvitationReminder:
            return "account.invitation_reminder";
        case EventType::kAccountInvitationExpired:
            return "account.invitation_expired";
        case EventType::kAccountClaimed:
            return "account.claimed";
        case EventType::kAccountPending:
            return "account.pending";
        case EventType::kAccountActivated:
            return "account.activated";
    }
    return "unknown";
}

bool is_user_event(EventType type) {
    switch (type) {
        case EventType::kUserCreated:
        case EventType::kUserUpdated:
        case EventType::kUserDeactivated:
        case EventType::kUserReactivated:
        case EventType::kUserDeleted:
            return true;
        case EventType::kGroupCreated:
        case EventType::kGroupUpdated:
        case EventType::kGroupDeleted:
            return false;
        default:
            return is_account_event(type);
    }
}

bool is_account_event(EventType type) {
    switch (type) {
        case EventType::kAccountInvited:
        case EventType::kAccountInvitationReminder:
        case EventType::kAccountInvitationExpired:
        case EventType::kAccountClaimed:
        case EventType::kAccountPending:
        case EventType::kAccountActivated:
            return true;
        default:
            return false;
    }
}

namespace {

constexpr seconds kMaxRetryAfter{86400};
constexpr std::size_t kDetailBytes = 200;
constexpr std::size_t kMaxResponseObject = std::size_t{64} * 1024;
constexpr std::size_t kMaxIdBytes = 1024;

json::array members_json(const std::vector<MemberChange>& members) {
    json::array out;
    out.reserve(members.size());
    for (const MemberChange& m : members) {
        json::object o;
        o["id"] = m.id;
        if (m.remote_id) {
            o["remote_id"] = *m.remote_id;
        }
        out.emplace_back(std::move(o));
    }
    return out;
}

json::value state_json(const std::optional<AccountState>& state) {
    if (!state) {
        return nullptr;
    }
    return json::string(to_string(*state));
}


// What an error answer says: a SCIM error's "detail" (RFC 7644 §3.12) when there is one, else
// the start of the body.
std::string body_summary(const HttpResponse& response) {
    if (const auto o = response_object(response)) {
        if (const json::value* d = scim::find_ci(*o, "detail"); d != nullptr && d->is_string()) {
            return printable(d->get_string());
        }
    }
    return printable(response.body);
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int digits_value(std::string_view s) {
    int v = 0;
    for (const char c : s) {
        v = v * 10 + (c - '0');
    }
    return v;
}

// IMF-fixdate, the preferred HTTP-date (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::chrono::sys_seconds> parse_imf_fixdate(std::string_view s) {
    static constexpr std::array<std::string_view, 7> kDays{
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr std::array<std::string_view, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
        return std::nullopt;
    }
    if (std::find(kDays.begin(), kDays.end(), s.substr(0, 3)) == kDays.end()) {
        return std::nullopt;
    }
    const auto* const month = std::find(kMonths.begin(), kMonths.end(), s.substr(8, 3));
    const std::string_view day = s.substr(5, 2);
    const std::string_view year = s.substr(12, 4);
    const std::string_view hour = s.substr(17, 2);
    const std::string_view minute = s.substr(20, 2);
    const std::string_view second = s.substr(23, 2);
    if (month == kMonths.end() || !all_digits(day) || !all_digits(year) || !all_digits(hour) ||
        !all_digits(minute) || !all_digits(second)) {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{
        std::chrono::year{digits_value(year)},
        std::chrono::month{static_cast<unsigned>(month - kMonths.begin() + 1)},
        std::chrono::day{static_cast<unsigned>(digits_value(day))}};
    const int h = digits_value(hour);
    const int m = digits_value(minute);
    const int sec = digits_value(second);
    if (!date.ok() || h > 23 || m > 59 || sec > 60) {  // 60: a leap second (RFC 5322 §3.3)
        return std::nullopt;
    }
    return std::chrono::sys_days{date} + std::chrono::hours{h} + std::chrono::minutes{m} +
           seconds{sec};
}

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date; a date in the past means 0,
// anything over a day is capped, anything unreadable is ignored.
std::optional<seconds> parse_retry_after(std::string_view value,
                                         std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
    }
    if (all_digits(value)) {
        std::int64_t v = 0;
        for (const char c : value) {
            v = std::min<std::int64_t>(v * 10 + (c - '0'), kMaxRetryAfter.count());
        }
        return seconds{v};
    }
    const auto date = parse_imf_fixdate(value);
    if (!date) {
        return std::nullopt;
    }
    // Round up: retrying a fraction of a second before the server's date would be too early.
    const seconds wait = std::chrono::ceil<seconds>(*date - now);
    return std::clamp(wait, seconds{0}, kMaxRetryAfter);
}

}  // namespace

boost::json::object webhook_body(const OutboundEvent& event) {
    const bool user = is_user_event(event.type);
    json::object body;
    body["id"] = event.id;
    body["type"] = to_string(event.type);
    body["timestamp"] = event.occurred_at;
    body["tenant"] = event.tenant_id;
    body["app"] = json::object{{"id", event.app_id}, {"name", event.app_name}};
    body["resource"] = json::object{
        {"type", user ? "User" : "Group"}, {"id", event.resource_id}, {"version", event.version}};
    body["data"] = event.data;
    body["previous"] = event.previous;
    if (user) {
        body["account"] = json::object{{"state", state_json(event.state)},
                                       {"previous_state", state_json(event.previous_state)}};
    } else {
        body["members_added"] = members_json(event.members_added);
        body["members_removed"] = members_json(event.members_removed);
    }
    if (event.remote_id) {
        body["remote_id"] = *event.remote_id;
    }
    if (event.invitation) {
        body["invitation"] = json::object{{"claim_url", event.invitation->url},
                                          {"expires_at", event.invitation->expires_at},
                                          {"reminder", event.invitation->reminder}};
    }
    return body;
}

std::string printable(std::string_view text) {
    const bool utf8 = scim::is_valid_utf8(text);
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        char put = c;
        if (byte < 0x20 || byte == 0x7f) {
            put = ' ';
        } else if (byte >= 0x80 && !utf8) {
            put = '?';
        }
        if (put == ' ' && (out.empty() || out.back() == ' ')) {
            continue;
        }
        out.push_back(put);
        if (out.size() >= kDetailBytes) {
            // Do not end inside a multi-byte sequence.
            while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0U) == 0x80U) {
                out.pop_back();
            }
            if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0U) {
                out.pop_back();
            }
            out += "...";
            return out;
        }
    }
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string_view to_string(HttpResponse::Outcome outcome) {
    switch (outcome) {
        case HttpResponse::Outcome::kOk: return "ok";
        case HttpResponse::Outcome::kTimeout: return "timed out";
        case HttpResponse::Outcome::kConnectError: return "connection failed";
        case HttpResponse::Outcome::kTlsError: return "TLS failed";
        case HttpResponse::Outcome::kForbiddenTarget: return "target not allowed";
        case HttpResponse::Outcome::kBadUrl: return "bad URL";
        case HttpResponse::Outcome::kProtocolError: return "protocol error";
    }
    return "transport error";
}

DeliveryResult classify(const HttpResponse& response, std::chrono::system_clock::time_point now) {
    using Kind = DeliveryResult::Kind;
    DeliveryResult result;
    if (response.outcome != HttpResponse::Outcome::kOk) {
        const bool refused = response.outcome == HttpResponse::Outcome::kBadUrl ||
                             response.outcome == HttpResponse::Outcome::kForbiddenTarget;
        result.kind = refused ? Kind::kPermanent : Kind::kRetry;
        result.detail = std::string(to_string(response.outcome));
        if (!response.error.empty()) {
            result.detail += ": " + printable(response.error);
        }
        return result;
    }
    const int status = response.status;
    result.status = status;
    result.detail = "HTTP " + std::to_string(status);
    if (status >= 200 && status <= 299) {
        result.kind = Kind::kDone;
        return result;
    }
    const bool refused = status == 400 || status == 410 || status == 413 || status == 422;
    result.kind = refused ? Kind::kPermanent : Kind::kRetry;
    if (const std::string said = body_summary(response); !said.empty()) {
        result.detail += ": " + said;
    }
    if (status == 429 || status == 503) {
        if (const auto header = response.header("retry-after")) {
            result.retry_after = parse_retry_after(*header, now);
        }
    }
    return result;
}

std::optional<boost::json::object> response_object(const HttpResponse& response) {
    if (response.outcome != HttpResponse::Outcome::kOk || response.body_truncated ||
        response.body.empty() || response.body.size() > kMaxResponseObject) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    if (ec || !parsed.is_object()) {
        return std::nullopt;
    }
    return std::move(parsed.as_object());
}

std::optional<std::string> id_member(const boost::json::object& object, std::string_view name) {
    const json::value* v = scim::find_ci(object, name);
    if (v == nullptr) {
        return std::nullopt;
    }
    std::string id;
    if (v->is_string()) {
        id = std::string(v->get_string());
    } else if (v->is_int64()) {
        id = std::to_string(v->get_int64());
    } else if (v->is_uint64()) {
        id = std::to_string(v->get_uint64());
    }
    if (id.empty() || id.size() > kMaxIdBytes || !scim::is_storable_text(id)) {
        return std::nullopt;
    }
    return id;
}

}  // namespace scimbridge::mappers
