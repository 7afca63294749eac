"""Fixtures of the BIDS tests: a tiny valid dataset with sessions and missing contrasts."""

import pytest
from tiny_bids import make_tiny_bids

TINY_LAYOUT = {
    "01": {"1": ("T1w", "FLAIR", "dwi", "pet"), "2": ("FLAIR", "ADC")},
    "02": {None: ("T2w", "pet")},
    "03": {None: ("pet",)},  # an FDG-PET but no MRI contrast: skipped
}


@pytest.fixture(scope="session")
def tiny_bids(tmp_path_factory):
    """Read-only: copy it before changing anything."""
    return make_tiny_bids(tmp_path_factory.mktemp("tiny") / "bids", TINY_LAYOUT)
