#!/usr/bin/env bash
# Debian packages the test suite uses: chromium for the Playwright browser tests (a
# `playwright install` download fails offline) and docker-compose to validate docker-compose.yml.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v docker-compose >/dev/null || (docker compose version >/dev/null 2>&1) || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "missing ${missing[*]} and this user cannot install them: apt-get install ${missing[*]} as root" >&2
    echo "(the tests that need them will be skipped)" >&2; exit 0
  fi
fi
echo "installing ${missing[*]} from Debian for the test suite…" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
