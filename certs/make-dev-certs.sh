#!/usr/bin/env bash
# Makes a development CA and a server certificate signed by it, once.
#   certs/make-dev-certs.sh [OUT_DIR]     (default: certs/dev)
# Output: ca.crt (trust this in clients), server.crt (chain: server + CA), server.key.
# The server certificate names localhost, 127.0.0.1 and ::1 plus any names in
# SCIM_BRIDGE_DEV_CERT_NAMES (space-separated DNS names). Never use these in production.
set -euo pipefail
out="${1:-$(cd "$(dirname "$0")" && pwd)/dev}"
mkdir -p "$out"
chmod 700 "$out"
cd "$out"

if [[ -s server.crt && -s server.key && -s ca.crt ]] &&
   openssl x509 -in server.crt -noout -checkend 86400 >/dev/null 2>&1; then
    echo "dev certificates already present in $out"
    exit 0
fi

umask 077
san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in ${SCIM_BRIDGE_DEV_CERT_NAMES:-}; do san="$san,DNS:$name"; done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 825 \
    -subj "/CN=scim-bridge development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 397 \
    -extfile server.ext -out server.leaf.crt 2>/dev/null
cat server.leaf.crt ca.crt > server.crt
rm -f server.csr server.ext server.leaf.crt ca.srl
chmod 600 ca.key server.key
chmod 644 ca.crt server.crt
echo "made a development CA and server certificate in $out"
