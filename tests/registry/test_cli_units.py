"""`seizure-registry units …` on both backends: exit 0 on success, 1 on a refusal, 2 on bad input, each
error one line on stderr; after every change the ledger's replay equals the tables (`seizure-registry audit`)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from registry.cli import main
from registry.config import Config


@pytest.fixture
def run(database_url, tmp_path, monkeypatch, capsys):
    """Run a unit command against a fresh database; returns (exit code, stdout lines, stderr lines).

    `audit` runs as the installed command, in a process of its own."""
    settings = {"DATABASE_URL": database_url, "LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}
    for name, value in settings.items():
        monkeypatch.setenv(f"REGISTRY_{name}", value)
        monkeypatch.setattr(Config, name, value)  # for a Config that read the environment when imported

    def command(*argv: str) -> tuple[int, list[str], list[str]]:
        if argv[0] == "audit":
            done = subprocess.run([str(Path(sys.executable).parent / "seizure-registry"), *argv],
                                  capture_output=True, text=True, timeout=120, cwd=tmp_path)
            return done.returncode, done.stdout.splitlines(), done.stderr.splitlines()
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out.splitlines(), err.splitlines()
    command.settings = settings
    return command


@pytest.fixture
def hierarchy(run):
    code, out, err = run("db", "upgrade")
    assert code == 0, (out, err)
    for argv in (("HIGH", "--name", "上海市高级人民法院", "--kind", "court"),
                 ("BAOSHAN", "--name", "上海市宝山区人民法院", "--kind", "court", "--parent", "HIGH"),
                 ("YANGPU", "--name", "上海市杨浦区人民法院", "--kind", "court", "--parent", "HIGH"),
                 ("PSB", "--name", "上海市公安局", "--kind", "police"),
                 ("PSB-ECON", "--name", "经侦总队", "--kind", "police", "--parent", "PSB")):
        code, out, err = run("units", "add", *argv)
        assert code == 0 and err == [], (argv, out, err)
    return run


def audit_passes(run) -> None:
    """What `seizure-registry audit` checks, in this process: the replay of the ledger equals the tables."""
    from registry import create_app
    from registry.audit import run_audit
    app = create_app(run.settings)
    try:
        with app.app_context(), app.extensions["registry.db"].sessions() as session:
            assert run_audit(session)[0] == []
    finally:
        app.extensions["registry.db"].dispose()


def refused_in_one_line(result, exit_code: int, *words: str) -> None:
    code, out, err = result
    assert code == exit_code, result
    assert out == [] and len(err) == 1, result
    assert all(word in err[0] for word in words), err


def test_list_plain_tree_and_filtered(hierarchy):
    run = hierarchy
    code, out, _ = run("units", "list")
    assert code == 0 and [line.split()[0] for line in out] == ["BAOSHAN", "HIGH", "PSB", "PSB-ECON", "YANGPU"]
    code, out, _ = run("units", "list", "--tree")
    assert code == 0 and [line.split("  ")[0:2] for line in out][:1] == [["HIGH", "court"]]
    assert out == ["HIGH  court  上海市高级人民法院",
                   "  BAOSHAN  court  上海市宝山区人民法院  (under HIGH)",
                   "  YANGPU  court  上海市杨浦区人民法院  (under HIGH)",
                   "PSB  police  上海市公安局",
                   "  PSB-ECON  police  经侦总队  (under PSB)"]
    assert [line.split()[0] for line in run("units", "list", "--kind", "police")[1]] == ["PSB", "PSB-ECON"]
    assert [line.split()[0] for line in run("units", "list", "--parent", "HIGH")[1]] == ["BAOSHAN", "YANGPU"]
    assert run("units", "list", "--tree", "--parent", "HIGH")[1] == [
        "BAOSHAN  court  上海市宝山区人民法院  (under HIGH)", "YANGPU  court  上海市杨浦区人民法院  (under HIGH)"]
    refused_in_one_line(run("units", "list", "--kind", "judge"), 2, "judge", "court, police, auditor, admin")
    refused_in_one_line(run("units", "list", "--parent", "NOPE"), 1, "NOPE")


def test_show(hierarchy):
    code, out, _ = hierarchy("units", "show", "HIGH")
    assert code == 0
    shown = dict(line.split(":", 1) for line in out)
    assert {k: v.strip() for k, v in shown.items() if k != "created" and k != "live tokens"} == {
        "code": "HIGH", "name": "上海市高级人民法院", "kind": "court", "parent": "-", "active": "yes",
        "under it": "BAOSHAN YANGPU"}
    assert len(shown["live tokens"].split()) == 1 and shown["created"].strip().endswith("+08:00")
    refused_in_one_line(hierarchy("units", "show", "NOPE"), 1, "NOPE")
    refused_in_one_line(hierarchy("units", "show", "lower"), 2, "'lower'")


def test_rename_move_deactivate_activate_each_recorded_and_replayed(hierarchy):
    run = hierarchy
    assert run("units", "rename", "BAOSHAN", "--name", "宝山法院")[0:2] == (
        0, ["unit BAOSHAN renamed: BAOSHAN  court  宝山法院  (under HIGH)"])
    audit_passes(run)
    assert run("units", "move", "BAOSHAN", "--no-parent")[0:2] == (0, ["unit BAOSHAN moved: BAOSHAN  court  宝山法院"])
    audit_passes(run)
    assert run("units", "move", "HIGH", "--parent", "BAOSHAN")[0] == 0
    audit_passes(run)
    assert run("units", "deactivate", "YANGPU")[0:2] == (
        0, ["unit YANGPU deactivated: YANGPU  court  上海市杨浦区人民法院  (under HIGH)  [inactive]"])
    assert "active:      no" in run("units", "show", "YANGPU")[1]
    audit_passes(run)
    assert run("units", "activate", "YANGPU")[0] == 0
    audit_passes(run)
    assert "  [inactive]" not in "".join(run("units", "list")[1])
    code, out, _ = run("audit")
    assert code == 0 and out[-1] == "audit ok: 10 entries replayed; the live tables equal the replay", out


REFUSALS = [
    (("units", "add", "lower-case", "--name", "x", "--kind", "court"), 2, ("'lower-case'", "upper-case")),
    (("units", "add", "X" * 65, "--name", "x", "--kind", "court"), 2, ("at most 64",)),
    (("units", "add", "NEW", "--name", "  ", "--kind", "court"), 2, ("name", "empty")),
    (("units", "add", "NEW", "--name", "x", "--kind", "judge"), 2, ("unknown kind 'judge'",)),
    (("units", "add", "NEW", "--name", "x", "--kind", "court", "--parent", "PSB"), 2,
     ("court unit's parent must be a court",)),
    (("units", "add", "NEW", "--name", "x", "--kind", "auditor", "--parent", "HIGH"), 2, ("has no parent",)),
    (("units", "add", "NEW", "--name", "x", "--kind", "court", "--parent", "NOPE"), 2, ("NOPE",)),
    (("units", "add", "HIGH", "--name", "x", "--kind", "court"), 1, ("unit_exists",)),
    (("units", "rename", "BAOSHAN", "--name", ""), 2, ("name", "empty")),
    (("units", "rename", "NOPE", "--name", "x"), 1, ("NOPE",)),
    (("units", "rename", "BAOSHAN", "--name", "上海市宝山区人民法院"), 1, ("unit_unchanged",)),
    (("units", "move", "HIGH", "--parent", "BAOSHAN"), 2, ("cycle",)),
    (("units", "move", "BAOSHAN", "--parent", "BAOSHAN"), 2, ("cycle",)),
    (("units", "move", "BAOSHAN", "--parent", "PSB"), 2, ("court unit's parent must be a court",)),
    (("units", "move", "BAOSHAN"), 2, ("--parent CODE or --no-parent",)),
    (("units", "move", "BAOSHAN", "--parent", "HIGH", "--no-parent"), 2, ("--parent CODE or --no-parent",)),
    (("units", "move", "BAOSHAN", "--parent", "high"), 2, ("'high'",)),
    (("units", "activate", "BAOSHAN"), 1, ("unit_unchanged",)),
    (("units", "deactivate", "NOPE"), 1, ("NOPE",)),
]


def test_refusals_are_one_line_and_change_nothing(hierarchy):
    before = hierarchy("units", "list")[1]
    for argv, exit_code, words in REFUSALS:
        refused_in_one_line(hierarchy(*argv), exit_code, *words)
        assert hierarchy("units", "list")[1] == before, argv
    code, out, _ = hierarchy("audit")
    assert code == 0 and "5 entries" in out[-1], out  # the five units' creations and nothing more
