#!/bin/sh
# Entrypoint hook (run by the nginx image's /docker-entrypoint.sh before nginx starts): writes
# this container's edge settings, in the shape of nginx/edge.conf, from the NGINX_* settings
# compose.yaml passes from .env. A bad value stops the container with a message naming it.
#   NGINX_WRITE_RATE   writes per client address: 10r/s (default), 600r/m, ... or off
#   NGINX_READ_RATE    reads per client address: 50r/s (default) ... or off
#   NGINX_MONITORING_FROM  may read /metrics and /readyz (default 127.0.0.1: nobody outside)
#   NGINX_BALANCER_FROM    may read /readyz (default none)
#   NGINX_TRUSTED_PROXIES  whose X-Forwarded-For is believed (default none)
#   HTTPS_PORT         the published HTTPS port, for the HTTP -> HTTPS redirect (default 8443)
# Address lists: IP addresses or CIDR ranges, comma- or space-separated; `none` for nobody.
set -eu
out=/tmp/flask-multitier-edge.conf

fail() {
    echo "nginx edge settings: $*" >&2
    exit 1
}

zone() { # zone key setting-name value default
    case $4 in
    off) echo "limit_req_zone \$no_limit_key zone=$1:10m rate=$5;  # $3=off" ;;
    *)
        printf '%s\n' "$4" | grep -Eq '^[1-9][0-9]{0,6}r/[sm]$' ||
            fail "$3 must look like 10r/s or 600r/m or be off, got '$4'"
        echo "limit_req_zone \$$2 zone=$1:10m rate=$4;"
        ;;
    esac
}

addresses() { # setting-name value -> one validated address per line
    for address in $(printf '%s' "$2" | tr ',' ' '); do
        [ "$address" = none ] && continue
        printf '%s\n' "$address" |
            grep -Eq '^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)(/[0-9]{1,3})?$' ||
            fail "$1: '$address' is not an IP address or CIDR range (e.g. 10.0.0.0/8)"
        printf '%s\n' "$address"
    done
}

https_port=${HTTPS_PORT:-8443}
case $https_port in
443) suffix="" ;;
*[!0-9]* | "") fail "HTTPS_PORT must be a port number, got '$https_port'" ;;
*) suffix=":$https_port" ;;
esac

# (assignments, so that a bad value stops the script: `set -e` sees their status)
balancers=$(addresses NGINX_BALANCER_FROM "${NGINX_BALANCER_FROM:-none}")
monitors=$(addresses NGINX_MONITORING_FROM "${NGINX_MONITORING_FROM:-127.0.0.1}")
proxies=$(addresses NGINX_TRUSTED_PROXIES "${NGINX_TRUSTED_PROXIES:-none}")

{
    echo "# Written at container start by 30-edge-settings.sh (shape: nginx/edge.conf)."
    zone writes write_limit_key NGINX_WRITE_RATE "${NGINX_WRITE_RATE:-10r/s}" 10r/s
    zone reads read_limit_key NGINX_READ_RATE "${NGINX_READ_RATE:-50r/s}" 50r/s
    echo "geo \$ops_client {"
    echo "    default none;"
    for address in $balancers; do
        echo "    $address balancer;"
    done
    for address in $monitors; do
        echo "    $address monitoring;"
    done
    echo "}"
    for address in $proxies; do
        echo "set_real_ip_from $address;"
    done
    if [ -n "$proxies" ]; then
        echo "real_ip_header X-Forwarded-For;"
        echo "real_ip_recursive on;"
    fi
    # where plain HTTP redirects to (redirect_to_https.conf)
    echo "map \$host \$https_port_suffix {"
    echo "    default \"$suffix\";"
    echo "}"
} >"$out.new"
mv "$out.new" "$out"
