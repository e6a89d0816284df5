#!/bin/sh
# Minimal imitation of the official nginx image's /docker-entrypoint.sh: run the hooks in
# /docker-entrypoint.d (*.sh executed, *.envsh sourced) when the command is nginx.
set -e
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  for f in $(find /docker-entrypoint.d/ -follow -type f | sort); do
    # shellcheck disable=SC1090  # hooks are whatever the image puts there
    case $f in
      *.envsh) if [ -x "$f" ]; then . "$f"; fi ;;
      *.sh) if [ -x "$f" ]; then "$f"; fi ;;
      *) ;;
    esac
  done
fi
exec "$@"
