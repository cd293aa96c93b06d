"""template.yaml is parsed once per version of the file, and each caller gets a copy of its own."""

import os
import shutil
from pathlib import Path

from agent_sessions_local.template import TEMPLATE_PATH, functions, load_template


def test_a_caller_changing_its_template_changes_no_one_elses(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    shutil.copyfile(TEMPLATE_PATH, path)
    first = load_template(path)
    first["Resources"].clear()
    first["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"] = "changed"
    again = load_template(path)
    assert again == load_template(TEMPLATE_PATH)
    assert functions(again)


def test_an_edited_template_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    shutil.copyfile(TEMPLATE_PATH, path)
    before = load_template(path)
    path.write_text(path.read_text(encoding="utf-8").replace("agent-sessions: spending", "edited: spending", 1))
    written = path.stat()
    os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns + 1_000_000))  # a newer time, whatever the clock
    after = load_template(path)
    assert after != before
    assert str(after["Description"]).startswith("edited")
