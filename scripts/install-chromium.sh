#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests, unless it is there already.
# Playwright's own browser download cannot reach its host from here, so the tests drive /usr/bin/chromium.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1; then
  run=(sudo)
else
  echo "install-chromium: /usr/bin/chromium is missing and installing it needs root (not root, no sudo)." >&2
  echo "install-chromium: install the Debian package 'chromium' and run the tests again." >&2
  exit 1
fi

echo "== installing chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ ! -x /usr/bin/chromium ]; then
  echo "install-chromium: apt-get finished but /usr/bin/chromium is still missing." >&2
  exit 1
fi
