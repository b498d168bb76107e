#pragma once
// The public side of the account lifecycle: the claim page a person reaches from an invitation
// (GET shows which app and organisation, POST accepts), the access-code form for people without
// email, and the app callback that reports a first sign-in (signed like our webhooks).
// No bearer token: the claim token, the access code or the signature is the credential. Every
// link or code that cannot be used gets the same generic page, whatever the reason.

#include "mappers/lifecycle.hpp"
#include "server/router.hpp"

namespace scimbridge::server {

class ClaimHandler final {
public:
    explicit ClaimHandler(mappers::LifecycleService& lifecycle) : lifecycle_(lifecycle) {}

    Response show(const RequestContext& ctx) const;         // GET /claim/{token}
    Response accept(const RequestContext& ctx) const;       // POST /claim/{token}
    Response code_form(const RequestContext& ctx) const;    // GET /claim
    Response redeem_code(const RequestContext& ctx) const;  // POST /claim (form: code=...)
    Response app_callback(const RequestContext& ctx) const; // POST /callbacks/v1/apps/{id}

private:
    mappers::LifecycleService& lifecycle_;
};

// The claim pages' HTML (exposed for the unit tests): text is escaped.
std::string html_escape(std::string_view text);

}  // namespace scimbridge::server
