#!/usr/bin/env bash
# Install what DIANO Explorer needs on a fresh Debian/Ubuntu machine into ./.venv.
#   bash scripts/install.sh          runtime stack (library + app)
#   bash scripts/install.sh --dev    plus test tools and Debian's chromium for the browser tests
# System packages: libegl1 + libgl1-mesa-dri let VTK/PyVista render off screen (no display);
# chromium is driven by Playwright in the browser tests (never `playwright install`).
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

pkgs=(libegl1 libgl1-mesa-dri libatomic1)
[[ $dev == 1 ]] && pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo_cmd=""
    [[ $(id -u) != 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [[ $dev == 1 ]]; then
    .venv/bin/python -m pip install -q -r requirements-dev.txt
else
    .venv/bin/python -m pip install -q -r requirements.txt
fi
