#!/bin/sh
# compose.yaml's `tls` job: the certificate nginx serves, in /tls (the `tls` volume, or the
# folder TLS_DIR names in .env), before nginx starts.
# - /tls already holds fullchain.pem and privkey.pem that this job did not make (no `names`
#   file): a real certificate put there by a person or a tool; it is used as it is.
# - Otherwise local-ca.sh makes (once) a local CA in /tls-ca, a volume only this job mounts, and
#   from it a certificate for TLS_NAMES (comma- or space-separated; default localhost and
#   127.0.0.1); it renews it when it nears its end, on any later `up`. Trust /tls/ca.crt.
set -eu
if [ -s /tls/fullchain.pem ] && [ -s /tls/privkey.pem ] && [ ! -e /tls/names ]; then
    echo "tls: serving the certificate given in TLS_DIR (fullchain.pem, privkey.pem)"
    exit 0
fi
names=$(printf '%s' "${TLS_NAMES:-localhost 127.0.0.1}" | tr ',' ' ')
# shellcheck disable=SC2086  # one argument per name
exec local-ca.sh /tls-ca /tls $names
