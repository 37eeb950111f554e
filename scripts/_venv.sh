# Sourced by scripts/quickstart and scripts/test: create or update .venv from the project's own files.
# Usage: ensure_venv EXTRA   (EXTRA is "sandbox" or "dev")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

ensure_venv() {
    local extra="$1"
    local stamp="$VENV/.installed-$extra"
    local python="${PYTHON:-python3}"
    if [ ! -x "$VENV/bin/python" ]; then
        "$python" -m venv "$VENV"
    fi
    # Reinstall only when the project's metadata changed since the last install.
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        echo "Installing GeuseMaker ($extra) into .venv (log: .venv/install.log) ..." >&2
        : >"$VENV/install.log"
        _quietly "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        _quietly "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extra]"
        touch "$stamp"
    fi
}

# Run a command with its output in .venv/install.log; show the log only when it fails.
# (An editable install of this layout always prints setuptools' "Editable installation" notice.)
_quietly() {
    local log="$VENV/install.log"
    if ! "$@" >>"$log" 2>&1; then
        echo "error: '$*' failed; its output:" >&2
        tail -n 60 "$log" >&2
        return 1
    fi
}
