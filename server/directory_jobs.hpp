#pragma once
// The scheduler's directory job (DESIGN §7, resync (a)): pull one directory source (Google
// Workspace, Microsoft Graph, a SCIM source), compare with the tenant's canonical users and
// groups (mappers::plan_directory_sync), and apply the difference through the same
// ResourceService an IdP's push goes through, so every change fans out exactly as if pushed.
// A dry run reports the plan without writing. A run resumed after a crash pulls again and
// re-plans: what the dead run applied now matches, so nothing is applied twice.

#include "mappers/directory_store.hpp"
#include "mappers/http_transport.hpp"
#include "scim/resource_service.hpp"
#include "server/scheduler.hpp"
#include "server/tenant_registries.hpp"

namespace scimbridge::server {

Job make_directory_job(mappers::DirectoryStore& store, scim::ResourceService& resources,
                       mappers::HttpTransport& transport, TenantRegistries& registries);

}  // namespace scimbridge::server
