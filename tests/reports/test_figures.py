"""Figure bookkeeping: a rerun removes the participant's figures it did not write again."""

from gausspet_bids.reports.figures import figure_path, remove_stale_figures


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    path.with_suffix(".json").write_text("{}")
    return path


def test_stale_figures_of_this_session_are_removed_others_kept(tmp_path):
    keep = _touch(figure_path(tmp_path, "001", None, "brainmask", "mask"))
    stale = _touch(figure_path(tmp_path, "001", None, "comparison", "pet"))
    other_session = _touch(figure_path(tmp_path, "001", "2", "comparison", "pet"))
    other_subject = _touch(figure_path(tmp_path, "002", None, "comparison", "pet"))
    remove_stale_figures(tmp_path, "001", None, [keep])
    assert keep.exists() and keep.with_suffix(".json").exists()
    assert not stale.exists() and not stale.with_suffix(".json").exists()
    assert other_session.exists() and other_subject.exists()
    remove_stale_figures(tmp_path, "001", "2", [])
    assert not other_session.exists() and keep.exists()
