"""Cohort-level properties: roles, clinical scores against lesion volume, CLI checks."""

from __future__ import annotations

import numpy as np
from scipy import stats

from gausspet_bids.phantom.cli import main
from gausspet_bids.phantom.cohort import CohortOptions, plan_cohort
from gausspet_bids.phantom.subject import lesion_ml, make_subject, subject_scores


def test_nihss_increases_with_lesion_volume():
    options = CohortOptions(control_fraction=0.0)
    plans = plan_cohort(16, 5, options)
    subjects = [make_subject(p, 5, "small") for p in plans]
    volumes = np.array([lesion_ml(s) for s in subjects])
    nihss = np.array([subject_scores(s, 5)[0] for s in subjects])
    mrs = np.array([subject_scores(s, 5)[1] for s in subjects])
    assert volumes.min() > 0.1 and volumes.max() > 20 * volumes.min()  # lacunes to large infarcts
    assert stats.spearmanr(volumes, nihss).statistic > 0.6
    assert stats.spearmanr(nihss, mrs).statistic > 0.6
    assert nihss.max() <= 42 and mrs.max() <= 6


def test_fractions_spread_roles_over_the_cohort():
    plans = plan_cohort(20, 1, CohortOptions(control_fraction=0.25, two_session_fraction=0.25))
    groups = [p.group for p in plans]
    assert groups.count("control") == 5
    assert sum(len(p.sessions) == 2 for p in plans) == 5
    assert all(p.sessions[0].stage is None for p in plans if p.group == "control")
    assert any("T1w" not in p.sessions[0].series for p in plans)
    assert [p.label for p in plans[:2]] == ["001", "002"]
    # a participant does not depend on the cohort size
    assert plan_cohort(3, 1)[2] == plans[2]


def test_cli_refuses_ground_truth_inside_the_dataset(tmp_path, capsys):
    out = tmp_path / "bids"
    assert main([str(out), "--participants", "1", "--ground-truth", str(out / "gt")]) == 2
    assert "must be outside" in capsys.readouterr().err
    assert main([str(out), "--participants", "0"]) == 2
    assert not out.exists()


def test_cli_refuses_a_dataset_with_other_participants(tmp_path, capsys):
    out = tmp_path / "bids"
    (out / "sub-999").mkdir(parents=True)
    assert main([str(out), "--participants", "2", "--small"]) == 2
    assert "sub-999" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["sub-999"]
