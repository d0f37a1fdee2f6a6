"""hwtrial imports where POSIX-only modules are missing (Windows has no ``fcntl``)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

WITHOUT_FCNTL = "import sys; sys.modules['fcntl'] = None; sys.modules['msvcrt'] = None\n"


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_FCNTL + code], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_audit_imports_without_fcntl():
    done = run_python("import hwtrial, hwtrial.services.audit; print('ok')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_head_file_without_any_file_locking_is_a_clear_error(tmp_path):
    done = run_python(
        "from hwtrial.services.audit import _lock_exclusive\n"
        f"with open({str(tmp_path / 'head')!r}, 'a+') as handle:\n"
        "    _lock_exclusive(handle)\n")
    assert done.returncode == 1
    assert "RuntimeError: HWTRIAL_AUDIT_HEAD_FILE needs file locking" in done.stderr
