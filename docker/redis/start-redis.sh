#!/bin/sh
# Starts redis-server with redis.conf plus `requirepass` read from a file (compose.yaml's
# `redis_password` secret at /run/secrets/redis_password, or REDIS_PASSWORD_FILE). The password
# reaches Redis on standard input (`-`: read more configuration from stdin), so it is on no
# command line (`ps`) and in no environment variable of the container.
set -eu
file=${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}
[ -r "$file" ] || { echo "redis: no password file at $file" >&2; exit 1; }
password=$(cat "$file")
case $password in
"") echo "redis: the password file $file is empty" >&2; exit 1 ;;
*[\"\\\'[:space:]]*) echo "redis: the password must not contain quotes, backslashes or spaces" >&2; exit 1 ;;
*) ;;
esac
# dash passes a here-document through a pipe: the password touches no file either
exec redis-server /usr/local/etc/redis/redis.conf - <<CONF
requirepass "$password"
CONF
