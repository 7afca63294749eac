"""Discovery on the phantom cohort (tests/conftest.py ``small_phantom``): sessions, 4D PET and
a participant without T1w."""

from gausspet_bids.bids.discovery import discover


def test_phantom_sessions_and_missing_t1w(small_phantom):
    found = {s.label: s for s in discover(small_phantom.bids_dir)}
    assert sorted(found) == ["sub-001", "sub-002", "sub-003", "sub-004_ses-1", "sub-004_ses-2"]
    assert all(
        s.usable and not [k for k in s.skipped if "unusable" in k.reason] for s in found.values()
    )
    full = found["sub-001"]
    assert full.contrasts == ["T1w", "T2w", "FLAIR", "DWI", "ADC"]
    assert full.dwi_bval and full.dwi_bvec
    assert full.pet.n_frames > 1
    assert len(full.pet.frame_times_start) == len(full.pet.frame_duration) == full.pet.n_frames
    no_t1w = found["sub-003"]
    assert no_t1w.t1w is None and "T1w" not in no_t1w.contrasts and no_t1w.flair
    assert no_t1w.pet.n_frames == 1
    assert found["sub-004_ses-2"].session == "2"


def test_phantom_without_accepted_contrast_is_skipped(small_phantom):
    found = {s.label: s for s in discover(small_phantom.bids_dir, accepted_contrasts=["T1w"])}
    assert not found["sub-003"].usable
    assert "found only T2w, FLAIR, DWI, ADC" in found["sub-003"].skip_reason
    assert found["sub-001"].usable and found["sub-001"].contrasts == ["T1w"]
