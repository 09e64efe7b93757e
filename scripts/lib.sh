# Sourced by scripts/run and scripts/test: Python 3.11+, the .venv at the project root, apt packages.
# Defines REMIT_ROOT, VENV, as_root, apt_install, ensure_pdf_libraries, find_python and ensure_venv EXTRA.
REMIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REMIT_ROOT/.venv"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

APT_UPDATED=0
apt_install() {
  # Install the given apt packages, running `apt-get update` at most once and only when something is missing.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || { echo "missing packages ${missing[*]} and no apt-get" >&2; return 1; }
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  echo "installing apt packages: ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The system libraries WeasyPrint (invoice PDFs) loads, and a font to set invoices in.
PDF_APT_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-dejavu-core)

ensure_pdf_libraries() {
  # PDFs are optional: without these remit still runs, and mail links to the hosted invoice instead.
  apt_install "${PDF_APT_PACKAGES[@]}" ||
    echo "warning: could not install the PDF libraries (${PDF_APT_PACKAGES[*]}); invoices will not be rendered" >&2
}

find_python() {
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  local extra="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    local python
    if ! python="$(find_python)"; then
      apt_install python3 python3-venv
      python="$(find_python)" || { echo "remit needs Python 3.11 or newer" >&2; return 1; }
    fi
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      "$python" -m venv "$VENV"
    fi
  fi
  local stamp digest
  digest="$(sha256sum < "$REMIT_ROOT/pyproject.toml" | cut -c1-16)"
  stamp="$VENV/.remit-installed-$extra-$digest"
  # The dev extra includes the postgres one: a venv made by scripts/test serves scripts/run as it is.
  if [ ! -f "$stamp" ] && [ ! -f "$VENV/.remit-installed-dev-$digest" ]; then
    echo "installing remit[$extra] into .venv ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$REMIT_ROOT[$extra]"
    rm -f "$VENV"/.remit-installed-"$extra"-*
    touch "$stamp"
  fi
}
