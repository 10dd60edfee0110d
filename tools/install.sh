#!/usr/bin/env bash
# Installs everything speechbrain-ee needs on a fresh Debian machine:
#   system packages (espeak-ng, flite and festival with three English voices for the built-in
#   corpora, libsndfile for audio I/O)
#   and a virtual environment in .venv with the package installed in editable mode.
# Usage: bash tools/install.sh [--dev]     (--dev adds the test dependencies)
# Environment: SBEE_VENV (default .venv), SBEE_SKIP_APT=1 to skip the apt step.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
venv="${SBEE_VENV:-.venv}"

need_apt=()
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v flite >/dev/null 2>&1 || need_apt+=(flite)
command -v festival >/dev/null 2>&1 || need_apt+=(festival)
for voice in festvox-kallpc16k:english/kal_diphone festvox-kdlpc16k:english/ked_diphone \
             festvox-us-slt-hts:us/cmu_us_slt_arctic_hts; do
  [ -d "/usr/share/festival/voices/${voice#*:}" ] || need_apt+=("${voice%%:*}")
done
ldconfig -p 2>/dev/null | grep -q libsndfile.so || need_apt+=(libsndfile1)
if [ "${#need_apt[@]}" -gt 0 ] && [ "${SBEE_SKIP_APT:-0}" != 1 ]; then
  echo "[install] apt packages: ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "[install] creating $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
echo "[install] pip install -e .$extras (torch is a large download the first time)"
"$venv/bin/python" -m pip install -q -e ".$extras"
echo "[install] done: $venv/bin/speechbrain-ee"
