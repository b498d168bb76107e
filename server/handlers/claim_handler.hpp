#pragma once
// The public side of the account lifecycle: the claim page a person reaches from an invitation
// (GET shows which app and organisation, POST accepts), the access-code form for people without
// email, and the app callback that reports a first sign-in (signed like our webhooks).
// No bearer token: the claim token, the access code or the signature is the credential. Every
// link or code that cannot be used gets the same generic page, whatever the reason, and counts
// as a failed attempt of the client (AttemptLimiter): past its budget a client gets 429 with
// Retry-After, and its links and codes are not looked at until then.

#include "mappers/lifecycle.hpp"
#include "server/attempt_limiter.hpp"
#include "server/router.hpp"

namespace scimbridge::server {

class ClaimHandler final {
public:
    ClaimHandler(mappers::LifecycleService& lifecycle, AttemptLimiter& limiter)
        : lifecycle_(lifecycle), limiter_(limiter) {}

    Response show(const RequestContext& ctx) const;         // GET /claim/{token}
    Response accept(const RequestContext& ctx) const;       // POST /claim/{token}
    Response code_form(const RequestContext& ctx) const;    // GET /claim
    Response redeem_code(const RequestContext& ctx) const;  // POST /claim (form: code=...)
    Response app_callback(const RequestContext& ctx) const; // POST /callbacks/v1/apps/{id}

private:
    // Runs `attempt` unless the client must wait; an attempt that finds nothing is a failure.
    template <class Attempt>
    Response limited(const RequestContext& ctx, Attempt&& attempt) const;

    mappers::LifecycleService& lifecycle_;
    AttemptLimiter& limiter_;
};

// The claim pages' HTML (exposed for the unit tests): text is escaped.
std::string html_escape(std::string_view text);

}  // namespace scimbridge::server
