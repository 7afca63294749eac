"""Level dispatch and logging of ``gausspet`` (the checks themselves are in test_checks.py)."""

import importlib.util
import logging
from pathlib import Path

import pytest

from gausspet_bids.cli.parser import build_parser
from gausspet_bids.cli.run import accepted_contrasts, main, setup_logging

_spec = importlib.util.spec_from_file_location(
    "tiny_bids", Path(__file__).parents[1] / "bids" / "tiny_bids.py"
)
tiny_bids_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_bids_module)


@pytest.fixture(scope="module")
def bids(tmp_path_factory):
    return tiny_bids_module.make_tiny_bids(
        tmp_path_factory.mktemp("run") / "bids", {"01": {None: ("T1w",)}}
    )


def test_group_level_is_dispatched(bids, tmp_path, capsys):
    code = main(
        [
            str(bids),
            str(tmp_path / "missing"),
            "group",
            "-w",
            str(tmp_path / "w"),
            "--skip-bids-validation",
        ]
    )
    assert code == 1
    assert "does not exist; run the participant level first" in capsys.readouterr().err


def test_nothing_processed_is_an_error(bids, tmp_path, capsys):
    code = main(
        [str(bids), str(tmp_path / "out"), "participant", "-w", str(tmp_path / "w"),
         "--skip-bids-validation", "--contrasts", "FLAIR", "--plugin", "Linear", "--dry-run"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert (
        "skipping sub-01: no usable MRI contrast among those the model accepts (FLAIR); found only T1w"
        in err
    )
    assert "0 done, 1 skipped, 0 failed" in err
    assert (tmp_path / "out" / "sub-01.html").exists()


def test_accepted_contrasts_default_and_option():
    parser = build_parser()
    assert accepted_contrasts(parser.parse_args(["a", "b", "participant"])) == [
        "T1w",
        "T2w",
        "FLAIR",
        "DWI",
        "ADC",
    ]
    assert accepted_contrasts(
        parser.parse_args(["a", "b", "participant", "--contrasts", "ADC", "T2w"])
    ) == ["T2w", "ADC"]  # in the model's order


def test_verbosity_levels():
    setup_logging(0)
    assert logging.getLogger("gausspet").getEffectiveLevel() == logging.WARNING
    setup_logging(1)
    assert logging.getLogger("gausspet").getEffectiveLevel() == logging.INFO
    setup_logging(2)
    assert logging.getLogger("gausspet").getEffectiveLevel() == logging.DEBUG
    setup_logging(0)
