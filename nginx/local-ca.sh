#!/bin/sh
# A local certificate authority and a server certificate from it, for HTTPS where no public CA
# can issue one (loopback, a private network, a dev VM). A person trusts one file, ca.crt.
#
#   nginx/local-ca.sh CA_DIR CERT_DIR NAME [NAME...]
#
# CA_DIR   ca.crt (the file to trust) and ca.key (0600); made on the first run, then kept, so
#          a renewed server certificate is trusted without trusting anything new.
# CERT_DIR fullchain.pem (the server certificate), privkey.pem (0600) and a copy of ca.crt:
#          what nginx's ssl_certificate / ssl_certificate_key read.
# NAME     DNS names and IPv4 addresses the server answers to, e.g. localhost 127.0.0.1.
#
# The CA is name-constrained to the names it was made with: its key can vouch for nothing else
# (not even if it leaks), which is what makes trusting it acceptable. Asking later for a name it
# does not cover is an error that says how to start over.
# Re-running is safe: the server certificate is reissued only when it is missing, expires within
# 30 days, or was made for other names. Keys are ECDSA P-256; needs the openssl command (1.1.1+).
set -eu

usage() {
    echo "usage: $0 CA_DIR CERT_DIR NAME [NAME...]" >&2
    exit 2
}
fail() {
    echo "local-ca: $*" >&2
    exit 1
}
[ "$#" -ge 3 ] || usage
ca_dir=$1
cert_dir=$2
shift 2
command -v openssl >/dev/null 2>&1 || fail "the openssl command is missing (Debian: apt-get install openssl)"

# --- names -> subjectAltName and nameConstraints ---------------------------------------------------
san=""
permitted=""
names=""
for name in "$@"; do
    if printf '%s\n' "$name" | grep -Eq '^[0-9]{1,3}(\.[0-9]{1,3}){3}$'; then
        san="$san,IP:$name"
        permitted="$permitted,permitted;IP:$name/255.255.255.255"
    elif printf '%s\n' "$name" | grep -Eq '^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$'; then
        san="$san,DNS:$name"
        permitted="$permitted,permitted;DNS:$name"
    else
        fail "not a DNS name or IPv4 address: '$name'"
    fi
    names="$names $name"
done
san=${san#,}
permitted=${permitted#,}
names=${names# }

umask 077
mkdir -p "$ca_dir" "$cert_dir"
for dir in "$ca_dir" "$cert_dir"; do
    [ -w "$dir" ] || fail "$dir is not writable (put fullchain.pem and privkey.pem there yourself, or make it writable)"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the CA, once ----------------------------------------------------------------------------------
if [ ! -s "$ca_dir/ca.key" ] || [ ! -s "$ca_dir/ca.crt" ]; then
    cat >"$work/ca.ext" <<EOF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, $permitted
EOF
    # ten years: the file a person trusts should not need replacing
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -days 3650 -subj "/O=flask-multitier/CN=flask-multitier local CA" \
        -config "$work/ca.ext" -extensions ca \
        -keyout "$ca_dir/ca.key" -out "$work/ca.crt" 2>"$work/err" || fail "$(cat "$work/err")"
    chmod 0644 "$work/ca.crt"
    mv "$work/ca.crt" "$ca_dir/ca.crt"
    printf '%s\n' "$names" >"$ca_dir/names"
    chmod 0644 "$ca_dir/names"
    echo "local-ca: made a new CA: $ca_dir/ca.crt (for: $names)"
fi
if [ -s "$ca_dir/names" ]; then
    for name in "$@"; do
        case " $(cat "$ca_dir/names") " in
        *" $name "*) ;;
        *) fail "the CA in $ca_dir was made for '$(cat "$ca_dir/names")' and cannot vouch for '$name'; remove $ca_dir to make a new CA (and trust its new ca.crt)" ;;
        esac
    done
fi

# --- the server certificate, when missing, expiring or for other names -----------------------------
fresh=yes
if [ ! -s "$cert_dir/fullchain.pem" ] || [ ! -s "$cert_dir/privkey.pem" ]; then
    fresh=no
elif [ "$(cat "$cert_dir/names" 2>/dev/null || true)" != "$names" ]; then
    fresh=no
elif ! openssl x509 -checkend 2592000 -noout -in "$cert_dir/fullchain.pem" >/dev/null; then
    fresh=no
elif ! openssl verify -CAfile "$ca_dir/ca.crt" "$cert_dir/fullchain.pem" >/dev/null 2>&1; then
    fresh=no  # issued by an earlier CA
fi
if [ "$fresh" = no ]; then
    cat >"$work/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -subj "/O=flask-multitier" -keyout "$work/privkey.pem" -out "$work/server.csr" \
        2>"$work/err" || fail "$(cat "$work/err")"
    # 397 days: the longest validity browsers accept for a server certificate
    openssl x509 -req -in "$work/server.csr" -CA "$ca_dir/ca.crt" -CAkey "$ca_dir/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 397 -sha256 -extfile "$work/server.ext" \
        -out "$work/fullchain.pem" 2>"$work/err" || fail "$(cat "$work/err")"
    chmod 0644 "$work/fullchain.pem"
    mv "$work/privkey.pem" "$cert_dir/privkey.pem"
    mv "$work/fullchain.pem" "$cert_dir/fullchain.pem"
    printf '%s\n' "$names" >"$cert_dir/names"
    echo "local-ca: issued $cert_dir/fullchain.pem for: $names"
fi
cp "$ca_dir/ca.crt" "$work/ca.crt"
chmod 0644 "$work/ca.crt"
mv "$work/ca.crt" "$cert_dir/ca.crt"
