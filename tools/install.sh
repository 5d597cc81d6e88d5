#!/usr/bin/env bash
# Installs the fba_mm stack into the current Python (see docs and ../shared/install.md for why each step is so).
# Idempotent: when everything already imports at the pinned versions it installs nothing.
#   bash tools/install.sh          # runtime stack + fba_mm
#   bash tools/install.sh --tests  # also the test requirements
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WITH_TESTS=0
[[ "${1:-}" == "--tests" ]] && WITH_TESTS=1

stack_ok() {
  "$PY" - "$WITH_TESTS" <<'PYEOF' 2>/dev/null
import sys, importlib.metadata as md, os
want = {'torch': '2.13.0', 'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmdet': '3.3.0', 'mmagic': '1.2.0',
        'numpy': None, 'pycocotools': None, 'matplotlib': None, 'scikit-image': None}
if sys.argv[1] == '1':
    want['pytest'] = None
    want['ruff'] = '0.17.6'
for name, ver in want.items():
    got = md.version(name)
    if ver and not got.startswith(ver):
        sys.exit(1)
import mmcv.ops  # noqa: F401  (compiled ops present)
import fba_mm
# fba_mm must be this checkout (an editable install from another clone does not count)
here = os.path.realpath(os.getcwd())
sys.exit(0 if os.path.realpath(fba_mm.__file__).startswith(here + os.sep) else 1)
PYEOF
}

if stack_ok; then
  echo "[install] fba_mm stack already installed; nothing to do"
  exit 0
fi

start=$(date +%s)
# 1. torch and every pure-Python requirement (never mmcv in the same command: that builds an op-less wheel)
"$PY" -m pip install -q -r requirements/runtime.txt
[[ $WITH_TESTS == 1 ]] && "$PY" -m pip install -q -r requirements/tests.txt

# 2. mmcv with its compiled ops, against the torch just installed; mmagic without its dependency storm
if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  # a cached op-less wheel (see install.md, "Traps") would be reused silently
  "$PY" -m pip cache remove 'mmcv*' >/dev/null 2>&1 || true
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "$PY" -m pip install -q --no-build-isolation --no-deps mmcv==2.1.0
fi
"$PY" -m pip install -q --no-build-isolation --no-deps mmagic==1.2.0
"$PY" -c "import mmcv.ops" || { echo "[install] ERROR: mmcv was installed without its compiled ops (mmcv._ext)."\
  " Run: pip cache remove mmcv; pip uninstall -y mmcv; then this script again." >&2; exit 1; }

# 3. fba_mm itself, editable, so tools/ and configs/ of this checkout are what runs
"$PY" -m pip install -q --no-build-isolation --no-deps -e .
stack_ok || { echo "[install] ERROR: the stack still does not import; see the messages above" >&2; exit 1; }
echo "[install] done in $(( $(date +%s) - start )) s"
