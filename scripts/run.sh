#!/usr/bin/env bash
# `make run`: first-time init of a local data directory, then serve on 127.0.0.1:8080.
# http://127.0.0.1 is a secure context, so the browser allows the microphone.
set -euo pipefail
bin="$1"; data="$2"; listen="$3"
if [ ! -f "$data/dictum.db" ]; then
  mkdir -p "$data"
  "$bin" init --data "$data" --admin-user admin | tee "$data/../first-run.txt"
  chmod 600 "$data/../first-run.txt"
  echo
  echo "The one-time admin password above is also in $(cd "$data/.." && pwd)/first-run.txt (mode 0600); delete it after you log in."
else
  echo "Using the existing data directory $data (first-run password, if still kept: $(cd "$data/.." && pwd)/first-run.txt)."
fi
echo "Open http://$listen in a browser on this machine and log in as admin."
echo "No speech model is installed yet: run '$bin model pull base.en --data $data' (needs internet) or 'model import FILE'."
exec "$bin" serve --data "$data" --listen "$listen"
