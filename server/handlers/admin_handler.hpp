#pragma once
// The fan-out admin API (admin tokens only; JSON over HTTPS; documented in the README): apps
// CRUD with secret rotation, mapping preview, accounts by app/state/user, deliveries by status
// with replay, and the audit log. Each method: decode → store/processor → render.

#include "mappers/app_store.hpp"
#include "mappers/delivery.hpp"
#include "server/router.hpp"
#include "server/tenant_registries.hpp"

namespace scimbridge::server {

class AdminHandler final {
public:
    AdminHandler(mappers::AppStore& store, mappers::DeliveryProcessor& processor,
                 TenantRegistries& registries)
        : store_(store), processor_(processor), registries_(registries) {}

    Response list_apps(const RequestContext& ctx) const;
    Response create_app(const RequestContext& ctx) const;
    Response get_app(const RequestContext& ctx) const;
    Response update_app(const RequestContext& ctx) const;  // merge: fields given replace
    Response delete_app(const RequestContext& ctx) const;
    Response rotate_secret(const RequestContext& ctx) const;
    Response preview(const RequestContext& ctx) const;
    Response accounts(const RequestContext& ctx) const;
    Response deliveries(const RequestContext& ctx) const;
    Response replay(const RequestContext& ctx) const;
    Response audit(const RequestContext& ctx) const;

private:
    mappers::AppStore& store_;
    mappers::DeliveryProcessor& processor_;
    TenantRegistries& registries_;
};

}  // namespace scimbridge::server
