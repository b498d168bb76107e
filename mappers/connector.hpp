#pragma once
// A connector delivers one outbound event to one downstream app over the HttpTransport port:
// `webhook` (signed JSON, Standard Webhooks) or `scim` (an outbound SCIM 2.0 client). The
// delivery worker decides *what* to send (scope, account state, mapping, member difference);
// a connector decides *how*, and classifies the answer: done, retry later, or give up.

#include "mappers/account_state.hpp"
#include "mappers/http_transport.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::mappers {

enum class EventType {
    kUserCreated,  // first delivery of the user to this app (entered scope)
    kUserUpdated,
    kUserDeactivated,  // account blocked: IdP active=false, left scope
    kUserReactivated,  // account restored from blocked
    kUserDeleted,      // deleted at the IdP (the account is blocked; the app may delete it)
    kGroupCreated,
    kGroupUpdated,
    kGroupDeleted,
    // Account lifecycle (DESIGN §5), for apps that receive events (webhook): the body carries
    // the account state and, for invitations, the claim link.
    kAccountInvited,             // a new invitation (first or resend)
    kAccountInvitationReminder,  // day 3 / day 5 while unclaimed
    kAccountInvitationExpired,   // back to initiated
    kAccountClaimed,
    kAccountPending,             // waiting for approval or the first sign-in
    kAccountActivated,
};
std::string_view to_string(EventType type);  // "user.created", ...
bool is_user_event(EventType type);
bool is_account_event(EventType type);  // account.*: only apps that receive events get them

// An invitation as an `account.invited` / reminder event shows it.
struct InvitationNotice {
    std::string url;         // the claim link
    std::string expires_at;  // RFC 3339
    int reminder = 0;        // 0: the invitation itself; 1, 2: the reminders
};

struct MemberChange {
    std::string id;                        // canonical member id
    std::optional<std::string> remote_id;  // the app's id for it, when known
};

struct OutboundEvent {
    std::string id;  // idempotency key (webhook-id): the same on every retry and replay
    EventType type = EventType::kUserUpdated;
    std::string tenant_id;
    std::string app_id;
    std::string app_name;
    std::string resource_id;  // canonical id
    std::int64_t version = 0;
    std::string occurred_at;       // RFC 3339 UTC of the change that caused it
    boost::json::object data;      // the mapped resource (empty for deletes)
    boost::json::object previous;  // mapped attributes that changed: their last delivered values
    std::optional<std::string> remote_id;  // the app's id for the resource, when known
    // Users: the account state in the app after this event, and before it.
    std::optional<AccountState> state;
    std::optional<AccountState> previous_state;
    // Groups: members that joined / left since the last delivery to this app.
    std::vector<MemberChange> members_added;
    std::vector<MemberChange> members_removed;
    std::optional<InvitationNotice> invitation;  // account.invited and reminders
};

struct DeliveryResult {
    enum class Kind {
        kDone,       // the app has it
        kRetry,      // try again later (5xx, 429, 3xx, 401/403/404, timeouts, resets, TLS)
        kPermanent,  // retrying cannot help: the app refused this payload (400, 410, 413, 422),
                     // or the target is not allowed (bad URL, SSRF guard)
    };
    Kind kind = Kind::kDone;
    int status = 0;      // last HTTP status, 0 when no response
    std::string detail;  // why, for the delivery row and the audit log (no secrets)
    std::optional<std::chrono::seconds> retry_after;  // from Retry-After on 429/503
    std::optional<std::string> remote_id;             // the app's id for the resource, if learnt
    int requests = 0;                                 // HTTP requests this attempt sent
};

struct WebhookConfig {
    std::string url;
    std::vector<std::string> secrets;  // 1 or 2 "whsec_..." (two while rotating)
    std::chrono::milliseconds deadline{15000};
};

struct ScimTargetConfig {
    std::string base_url;  // e.g. https://app.example.com/scim/v2 (no trailing slash needed)
    std::string bearer_token;
    std::chrono::milliseconds deadline{15000};
    std::size_t member_chunk = 1000;  // at most this many members per PATCH request
    bool delete_users = false;        // user.deleted: DELETE (true) or deactivate (false)
};

// The wall clock a connector reads (webhook-timestamp, Retry-After dates); empty = system_clock.
using WallClock = std::function<std::chrono::system_clock::time_point()>;

class Connector {
public:
    virtual ~Connector() = default;
    virtual DeliveryResult deliver(const OutboundEvent& event, HttpTransport& transport) = 0;
};

// The webhook body (exposed for tests and the admin preview): {id, type, timestamp, tenant,
// app: {id, name}, resource: {type, id, version}, data, previous, remote_id (when known)} plus
// account: {state, previous_state} for users (null when unknown) or members_added and
// members_removed ([{id, remote_id?}]) for groups; account.invited and its reminders add
// invitation: {claim_url, expires_at, reminder}.
boost::json::object webhook_body(const OutboundEvent& event);

std::unique_ptr<Connector> make_webhook_connector(WebhookConfig config, WallClock clock = {});
std::unique_ptr<Connector> make_scim_connector(ScimTargetConfig config, WallClock clock = {});

// `t` as RFC 3339 UTC to the second ("2026-11-22T10:51:12Z"): event and invitation times.
std::string rfc3339(std::chrono::system_clock::time_point t);

// A transport outcome in words ("timed out", "connection failed"...), for details and logs.
std::string_view to_string(HttpResponse::Outcome outcome);

// Shared classification of an HTTP answer: 2xx done; 400, 410, 413, 422 permanent; a bad URL or
// an SSRF refusal permanent; everything else retries (3xx too: redirects are never followed, and
// an admin may fix the URL), with Retry-After (delta-seconds or HTTP-date, capped at 1 day) read
// on 429 and 503.
DeliveryResult classify(const HttpResponse& response, std::chrono::system_clock::time_point now);

// At most 200 bytes of `text` on one line: control characters become spaces, runs of spaces
// collapse, bytes that are not UTF-8 become '?'. Every outbound detail (connectors, directory
// pulls) goes through it: details land in logs and the admin UI.
std::string printable(std::string_view text);

// Shared by the two connectors for reading answers. The JSON object in a complete response body,
// or nullopt when the body is empty, truncated, larger than 64 KiB or not a JSON object.
std::optional<boost::json::object> response_object(const HttpResponse& response);
// The member `name` of `object` (case-insensitive, RFC 7643 §2.1) as an id: a non-empty string
// (an integer is written in decimal) of at most 1,024 bytes of storable UTF-8, else nullopt.
std::optional<std::string> id_member(const boost::json::object& object, std::string_view name);

}  // namespace scimbridge::mappers
