import shutil
import subprocess
import sys

import pytest

from gausspet_bids.bids.validator import find_validator, format_errors, parse_report, validate


def test_valid_dataset_passes(tiny_bids):
    result = validate(tiny_bids)
    assert result.valid and result.returncode == 0
    assert result.warnings  # e.g. recommended sidecar keys: warnings do not fail


def test_broken_dataset_fails_with_named_errors(tiny_bids, tmp_path):
    root = tmp_path / "bids"
    shutil.copytree(tiny_bids, root)
    (root / "sub-02" / "anat" / "sub-02_T2w.nii.gz").write_bytes(b"x")  # 1-byte image
    (root / "sub-02" / "anat" / "sub-02_T2x.nii.gz").write_bytes(b"x")  # not a BIDS name
    result = validate(root)
    assert not result.valid and result.returncode != 0
    found = {(e.code, e.location) for e in result.errors}
    assert ("NIFTI_HEADER_UNREADABLE", "/sub-02/anat/sub-02_T2w.nii.gz") in found
    assert "/sub-02/anat/sub-02_T2x.nii.gz" in {location for _, location in found}
    text = format_errors(result)
    assert "sub-02_T2w.nii.gz: NIFTI_HEADER_UNREADABLE: We were unable to parse header" in text


def test_parse_report_splits_severities():
    report = {
        "issues": {
            "issues": [
                {"code": "A_ERR", "severity": "error", "location": "/x.nii"},
                {
                    "code": "B_WARN",
                    "severity": "warning",
                    "subCode": "Key",
                    "issueMessage": "two\nlines",
                },
            ],
            "codeMessages": {"A_ERR": "bad  thing\n happened"},
        }
    }
    result = parse_report(report)
    assert [str(e) for e in result.errors] == ["/x.nii: A_ERR: bad thing happened"]
    assert [str(w) for w in result.warnings] == ["(dataset): B_WARN (Key): two lines"]
    assert format_errors(result, limit=0) == "  ... and 1 more"


def test_validator_is_installed_beside_python():
    assert find_validator().name == "bids-validator-deno"


def _can_unshare_network() -> bool:
    unshare = shutil.which("unshare")
    if not unshare:
        return False
    return subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare_network(), reason="needs `unshare -n` (root, Linux)")
def test_validator_runs_without_network(tiny_bids):
    """The schema is bundled: the validator gives the same answer with no network at all."""
    code = (
        "import sys; from gausspet_bids.bids.validator import validate; "
        "r = validate(sys.argv[1]); print(len(r.errors), len(r.warnings))"
    )
    offline = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", code, str(tiny_bids)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    online = validate(tiny_bids)
    assert offline.stdout.split() == ["0", str(len(online.warnings))]
