#!/usr/bin/env bash
# Build the portal (web/ → web/dist) when it is missing or older than its sources.
#
# Idempotent and quiet when the build is current: one "portal: ..." line on stdout.
# Node.js and npm come from the machine; where they are missing they are installed from
# Debian's packages (root + apt-get only). Packages come from web/package-lock.json
# (`npm ci`), reinstalled when the lockfile differs from the one web/node_modules was
# installed from.
#
# Environment:
#   ALUMNI_APT_STAMP   optional file: if it exists `apt-get update` is skipped (.ci/run)
#   PORTAL_FORCE_BUILD 1 = build even when web/dist is current
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../web"

if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "portal: npm is needed to build web/ (install Node.js 18 or newer)" >&2
        exit 1
    fi
    echo "portal: installing nodejs and npm from Debian's packages" >&2
    if [ -z "${ALUMNI_APT_STAMP:-}" ] || [ ! -e "$ALUMNI_APT_STAMP" ]; then
        apt-get update -qq
        [ -n "${ALUMNI_APT_STAMP:-}" ] && touch "$ALUMNI_APT_STAMP"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# The lockfile node_modules was installed from, kept beside it: a different lockfile (a pull,
# a merge) reinstalls, whatever the files' times say.
INSTALLED_LOCK=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$INSTALLED_LOCK"; then
    echo "portal: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    cp package-lock.json "$INSTALLED_LOCK"
fi

newest_source() {
    find index.html console src public vite.config.js package.json package-lock.json -type f -newer dist/index.html 2>/dev/null | head -1
}

if [ "${PORTAL_FORCE_BUILD:-0}" = 1 ] || [ ! -f dist/index.html ] || [ ! -f dist/console/index.html ] || [ -n "$(newest_source)" ]; then
    echo "portal: building web/dist" >&2
    npx vite build --logLevel warn >&2
    echo "portal: built web/dist"
else
    echo "portal: web/dist is current"
fi
