# Sourced by scripts/run and scripts/test: make .venv and install the project into it.
# ensure_venv PIP_TARGET   (e.g. "." or ".[test]"); reinstalls only when pyproject.toml changed.

ensure_venv() {
  local target="$1" python stamp want
  if [ ! -x .venv/bin/python ]; then
    python=$(command -v python3.11 || command -v python3 || true)
    if [ -z "$python" ]; then
      echo "error: python3.11 (or python3 >= 3.11) is needed to create .venv" >&2
      return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "error: $python is $("$python" --version 2>&1); securelink needs Python 3.11 or newer" >&2
      return 1
    fi
    rm -rf .venv
    "$python" -m venv .venv
  fi
  # One stamp per install target, holding the hash of the pyproject.toml it was installed from.
  stamp=".venv/.securelink-installed-$(printf '%s' "$target" | tr -c 'A-Za-z0-9' '_')"
  want=$(sha256sum pyproject.toml | cut -d ' ' -f 1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing securelink ($target) into .venv ..." >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install -q -e "$target"
    printf '%s\n' "$want" >"$stamp"
  fi
}
