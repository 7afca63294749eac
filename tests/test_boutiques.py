"""boutiques.json: valid (schema 0.5), in sync with the argparse parser, and launchable.

The sync test is what keeps the descriptor honest: every option of ``build_parser()`` must be
described with the same flag, type, choices and default, and the descriptor must describe
nothing the parser lacks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gausspet_bids import __version__
from gausspet_bids.cli.parser import build_parser

REPO = Path(__file__).resolve().parents[1]
DESCRIPTOR = REPO / "boutiques.json"
INVOCATION = REPO / "examples" / "invocation.json"
BIN = Path(sys.executable).parent
# argparse actions that are not options of an analysis (they print and exit).
NOT_DESCRIBED = {"help", "version"}


def _descriptor() -> dict:
    return json.loads(DESCRIPTOR.read_text())


def _env() -> dict:
    """The test's virtualenv first on PATH, so bosh finds this checkout's ``gausspet``."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _bosh(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    bosh = shutil.which("bosh", path=str(BIN)) or "bosh"
    return subprocess.run(
        [bosh, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600
    )


def _long_flag(action: argparse.Action) -> str:
    """The flag the descriptor uses: the first ``--long`` spelling, else the short one."""
    longs = [s for s in action.option_strings if s.startswith("--")]
    return longs[0] if longs else action.option_strings[0]


def _expected_input(action: argparse.Action) -> dict:
    """What the descriptor must say about one argparse action."""
    want: dict = {"optional": bool(action.option_strings) and not action.required}
    if isinstance(action, argparse._StoreTrueAction | argparse._CountAction):
        want["type"] = "Flag"
    elif action.type is int:
        want.update(type="Number", integer=True)
    elif action.type is float:
        want.update(type="Number", integer=False)
    elif action.dest in {"bids_dir", "bids_filter_file", "model"}:
        want["type"] = "File"  # read-only inputs a container must mount
    else:
        want["type"] = "String"
    want["list"] = action.nargs in ("+", "*") or (
        isinstance(action.nargs, int) and action.nargs > 0
    )
    if want["list"] and isinstance(action.nargs, int):
        want["min-list-entries"] = want["max-list-entries"] = action.nargs
    if action.choices is not None:
        want["value-choices"] = list(action.choices)
    if action.default not in (None, False, 0) and action.default is not argparse.SUPPRESS:
        want["default-value"] = action.default
    if action.option_strings:
        want["command-line-flag"] = _long_flag(action)
    return want


def _parser_actions() -> list[argparse.Action]:
    return [a for a in build_parser()._actions if a.dest not in NOT_DESCRIBED]


def test_descriptor_validates() -> None:
    result = _bosh("validate", str(DESCRIPTOR), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_every_parser_option_is_described_the_same_way() -> None:
    inputs = {i["id"]: i for i in _descriptor()["inputs"]}
    actions = _parser_actions()
    assert sorted(inputs) == sorted(a.dest for a in actions)
    for action in actions:
        described = inputs[action.dest]
        for key, value in _expected_input(action).items():
            got = described.get(key, False if key in ("optional", "list") else None)
            if key == "integer" and got is None:
                got = False
            assert got == value, (
                f"{action.dest}: {key} is {got!r} in boutiques.json, parser: {value!r}"
            )
        if "default-value" not in _expected_input(action):
            assert "default-value" not in described, f"{action.dest}: parser has no default"


def test_command_line_places_positionals_first_in_parser_order() -> None:
    desc = _descriptor()
    keys = desc["command-line"].split()
    assert keys[0] == "gausspet"
    positionals = [a.dest for a in _parser_actions() if not a.option_strings]
    assert positionals == ["bids_dir", "output_dir", "analysis_level"]
    by_id = {i["id"]: i["value-key"] for i in desc["inputs"]}
    assert keys[1:4] == [by_id[d] for d in positionals]
    assert sorted(keys[1:]) == sorted(by_id.values())


def test_versions_agree_with_the_package() -> None:
    desc = _descriptor()
    assert desc["tool-version"] == __version__
    image = desc["container-image"]
    assert image["type"] == "docker"
    assert image["image"].endswith(f":{__version__}")


def test_invocation_example_validates() -> None:
    result = _bosh("invocation", str(DESCRIPTOR), "-i", str(INVOCATION), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_launch_reports_a_folder_that_is_not_bids(tmp_path: Path) -> None:
    """The descriptor's command line reaches the app, whose checks reject a non-BIDS folder."""
    (tmp_path / "notbids" / "sub-01").mkdir(parents=True)
    invocation = json.loads(INVOCATION.read_text())
    invocation["bids_dir"] = "notbids"
    (tmp_path / "invocation.json").write_text(json.dumps(invocation))
    result = _bosh(
        "exec", "launch", "--no-container", str(DESCRIPTOR), "invocation.json", cwd=tmp_path
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Exit code\n2\n" in result.stdout
    assert "BIDS_DIR notbids is not a BIDS dataset: it has no dataset_description.json" in (
        result.stdout + result.stderr
    )
    assert not (tmp_path / "derivatives").exists()


@pytest.mark.slow
def test_launch_runs_participant_and_group_on_a_phantom(tmp_path: Path) -> None:
    """examples/invocation*.json, launched by bosh on a small phantom.

    The committed participant invocation is run with ``dry_run`` added (every input is found
    and read, reports are written, nothing is processed: the full pipeline is covered by
    tests/workflows/test_participant_end_to_end.py); the group invocation then runs as committed
    and must fail cleanly, naming what is missing, because no participant was processed.
    """
    phantom = shutil.which("gausspet-phantom", path=str(BIN))
    subprocess.run(
        [phantom, "phantom", "--participants", "2", "--seed", "1", "--small"],
        cwd=tmp_path,
        env=_env(),
        check=True,
        capture_output=True,
        timeout=600,
    )
    invocation = json.loads((REPO / "examples" / "invocation.json").read_text())
    dry = tmp_path / "invocation_dry.json"
    dry.write_text(json.dumps({**invocation, "dry_run": True}))
    result = _bosh("exec", "launch", "--no-container", str(DESCRIPTOR), str(dry), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--dry-run" in result.stdout and "--sloppy" in result.stdout
    missing = result.stdout.split("Missing files", 1)[1].strip().split("\n\n")[0]
    assert "\t- " not in missing and "derivatives" not in missing, missing
    out = tmp_path / "derivatives" / "gausspet"
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative"
    assert sorted(p.name for p in out.glob("sub-*.html")) == ["sub-001.html", "sub-002.html"]
    group = _bosh(
        "exec", "launch", "--no-container", str(DESCRIPTOR),
        str(REPO / "examples" / "invocation_group.json"), cwd=tmp_path,
    )  # fmt: skip
    assert "derivatives/gausspet group" in group.stdout
    assert "Exit code\n1" in group.stdout, group.stdout


def test_usage_docs_list_every_option_and_choice() -> None:
    """docs/usage.md is the human-readable twin of the descriptor: every flag and choice."""
    usage = (REPO / "docs" / "usage.md").read_text()
    for action in build_parser()._actions:
        for flag in action.option_strings:
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", usage), flag
        for choice in action.choices or ():
            assert choice in usage, f"{action.dest}: choice {choice} not documented"
