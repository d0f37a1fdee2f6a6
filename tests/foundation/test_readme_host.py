"""README "Mounting hwtrial in a host app": its Python snippets run as written in a tiny host.

The three ``python`` blocks of the section become a host app (the mounting snippet, then the
Migrate line with hwtrial's filter) and a script of the host's own code (the Python API
block); the only edits are the placeholders ``"postgresql://…"`` (a SQLite file here) and the
``"…"`` secret key. hwtrial's tables come from ``flask db upgrade --directory`` with the folder
the README's one-liner prints, as a host would run it, in fresh processes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def host_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Mounting hwtrial in a host app\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)


def run(args, cwd, env):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_readme_host_snippets_run_as_written(tmp_path):
    mount, migrate, use = host_blocks()
    assert '"postgresql://…"' in mount and '["HWTRIAL_SECRET_KEY"] = "…"' in mount
    mount = mount.replace('"postgresql://…"', repr(f"sqlite:///{tmp_path / 'host.sqlite3'}"))
    mount = mount.replace('["HWTRIAL_SECRET_KEY"] = "…"', '["HWTRIAL_SECRET_KEY"] = "h" * 48')
    (tmp_path / "host.py").write_text(mount + "\n" + migrate)
    (tmp_path / "host_code.py").write_text(
        "import json\nfrom host import app, trials\n\nwith app.app_context():\n"
        + textwrap.indent(use, "    ")
        + "    print(json.dumps({'done': done, 'after': trials.features_for('reminder-rct', 'u-81731')}))\n")
    # The checkout's hwtrial, whatever the interpreter has installed; no HWTRIAL_* of the caller.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HWTRIAL_", "FLASK_"))}
    env["PYTHONPATH"] = str(REPO)

    readme = (REPO / "README.md").read_text()
    one_liner = re.search(r'`python -c "(from hwtrial\.config import default_migrations_dir[^"]*)"`',
                          readme).group(1)
    directory = run([str(BIN / "python"), "-c", one_liner], tmp_path, env).strip()
    assert Path(directory, "versions").is_dir()
    flask = [str(BIN / "flask"), "--app", "host"]
    run([*flask, "db", "upgrade", "--directory", directory], tmp_path, env)
    run([*flask, "hwtrial", "studies", "load", str(REPO / "studies" / "reminder-rct.yaml")], tmp_path, env)
    run([*flask, "hwtrial", "studies", "activate", "reminder-rct"], tmp_path, env)

    shown = json.loads(run([str(BIN / "python"), "host_code.py"], tmp_path, env).splitlines()[-1])
    assert shown["done"]["created"] and shown["done"]["external_id"] == "u-81731"
    assert "/trials/p/start?token=" in shown["done"]["link"]
    assert shown["after"] == {"status": "withdrawn"}
