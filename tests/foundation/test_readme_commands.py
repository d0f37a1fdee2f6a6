"""README "Using it": every shell line runs as written in a new shell and exits 0.

The lines run in order in one bash process (an `export` carries over), in a fresh directory
that looks like the checkout (`.venv/bin` is this interpreter's bin, `studies/` the examples),
on a fresh SQLite database. Lines that serve until stopped are tagged in the README and
skipped; the test checks that exactly the serving lines carry the tag.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVES_TAG = "(serves until Ctrl-C)"
#: Commands that do not return: the development server and the demo (unless --no-serve).
SERVING = re.compile(r"hwtrial (run\b|worker\b(?!.*--once)|demo\b(?!.*--no-serve))")
#: Lines that ask for a password (hidden, twice) get it on standard input; the others none.
PROMPTS = re.compile(r"reset-password|--password(\s|$)")
PASSWORD = "readme-test-password"


def using_it_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)


def using_it_lines() -> list[str]:
    """The command lines of the section; a ``curl`` block talks to the running service and is
    checked by :func:`test_the_curl_example_sends_a_body_the_api_accepts` instead."""
    return [line for block in using_it_blocks() if not block.startswith("curl")
            for line in block.splitlines() if line.strip()]


def test_the_curl_example_sends_a_body_the_api_accepts():
    import json
    import shlex

    from hwtrial.api.participants import EnrolInSchema

    [curl] = [block for block in using_it_blocks() if block.startswith("curl")]
    words = shlex.split(curl.replace("\\\n", " "))
    body = json.loads(words[words.index("-d") + 1])
    assert EnrolInSchema().load(body)["consent"] == {"version": "2.1", "method": "api", "locale": None,
                                                     "consented_at": None}
    assert words[words.index("-X") + 1] == "POST" and "/api/v1/studies/reminder-rct/participants" in curl


def test_the_serving_lines_are_exactly_the_tagged_ones():
    lines = using_it_lines()
    assert len(lines) > 20
    assert [x for x in lines if SERVES_TAG in x] == [x for x in lines if SERVING.search(x)]
    assert any(SERVING.search(x) for x in lines)


def test_every_using_it_line_exits_zero(tmp_path):
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    (tmp_path / "studies").symlink_to(REPO / "studies", target_is_directory=True)
    script = ["set +e"]
    runnable = [x for x in using_it_lines() if SERVES_TAG not in x]
    for i, line in enumerate(runnable):
        stdin = f"<<< $'{PASSWORD}\\n{PASSWORD}'" if PROMPTS.search(line) else "< /dev/null"
        # The line exactly as written (its comment ends at the newline); braces run it in this
        # shell, so an `export` carries over to the next lines.
        script += [f"{{ {line}\n}} {stdin}", f'echo "{i} $?" >> "$RC_FILE"']
    (tmp_path / "readme.sh").write_text("\n".join(script) + "\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "HWTRIAL_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.sqlite3'}",
           "RC_FILE": str(tmp_path / "exit-codes")}
    done = subprocess.run(["bash", "readme.sh"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    rcs = dict(line.split() for line in (tmp_path / "exit-codes").read_text().splitlines())
    failed = [(runnable[int(i)], rc) for i, rc in rcs.items() if rc != "0"]
    assert len(rcs) == len(runnable), done.stderr[-3000:]
    assert not failed, f"{failed}\n{done.stderr[-3000:]}"
    assert (tmp_path / "links.csv").read_text().count("\n") == 21  # header + 20 links
