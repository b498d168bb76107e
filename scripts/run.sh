#!/usr/bin/env bash
# Command 1: set everything up and run scim-bridge.
#   - installs missing packages and builds (release preset)
#   - makes a development TLS certificate (certs/dev) unless SCIM_BRIDGE_TLS_CERT is set
#   - uses DATABASE_URL when set, else an embedded PostgreSQL under ./.scim-bridge
#   - on the first run creates the tenant "${SCIM_BRIDGE_TENANT:-default}" and prints its tokens
#   - serves HTTPS on ${SCIM_BRIDGE_LISTEN:-127.0.0.1:8443}; extra arguments go to `serve`
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh release
bin="$PWD/build/release/server/scim-bridge"

if [[ -z "${SCIM_BRIDGE_TLS_CERT:-}" ]]; then
    bash certs/make-dev-certs.sh
    export SCIM_BRIDGE_TLS_CERT="$PWD/certs/dev/server.crt"
    export SCIM_BRIDGE_TLS_KEY="$PWD/certs/dev/server.key"
fi
listen="${SCIM_BRIDGE_LISTEN:-127.0.0.1:8443}"
tenant="${SCIM_BRIDGE_TENANT:-default}"

if [[ -z "$("$bin" tenant list)" ]]; then
    "$bin" tenant create "$tenant"
    idp=$("$bin" token create --tenant "$tenant" --kind idp --name "first IdP token" | tail -n 1)
    admin=$("$bin" token create --tenant "$tenant" --kind admin --name "first admin token" | tail -n 1)
    cat <<TXT

================================================================================
 scim-bridge: tenant "$tenant" created. These tokens are shown only once.

 SCIM base URL : https://$listen/scim/v2
 IdP token     : $idp
 Admin token   : $admin

 Try:  curl --cacert certs/dev/ca.crt -H "Authorization: Bearer $admin" \\
            https://$listen/admin/v1/whoami
 More tokens:  $bin token create --tenant $tenant --kind idp|admin
================================================================================

TXT
else
    echo "scim-bridge: tenants exist ($("$bin" tenant list | cut -f1 | paste -sd, -)); tokens are shown only when made."
    echo "  new token: $bin token create --tenant NAME --kind idp|admin"
fi

exec "$bin" serve --listen "$listen" "$@"
