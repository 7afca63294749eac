"""Group level on a small cohort scored with the package's own writers."""

import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from gausspet_bids.metrics.hypometabolism import write_hypometabolism
from gausspet_bids.metrics.participant_scores import write_participant_scores
from gausspet_bids.metrics.territories import write_territory_table
from gausspet_bids.workflows.group_level import run_group_level
from gausspet_bids.workflows.scoring import scoring_outputs

ATLAS = "gausspet_bids/data/atlas/tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"
# left MCA parts, lesion grows with the participant index; NIHSS follows lesion volume
LESION_LABELS = [[], [], [], [15], [13], [11], [11, 13], [9], [7, 9], [7, 9, 11]]


def _atlas_4mm(tmp):
    """The 2 mm atlas subsampled to 4 mm: 8x fewer voxels keeps the test fast."""
    img = nib.load(ATLAS)
    affine = img.affine @ np.diag([2.0, 2.0, 2.0, 1.0])
    out = nib.Nifti1Image(np.asanyarray(img.dataobj)[::2, ::2, ::2].astype(np.int16), affine)
    nib.save(out, tmp / "dseg.nii.gz")
    return out, tmp / "dseg.nii.gz"


def _score(out, sub, dseg_img, dseg_file, lesion_labels, has_real, rng, tmp):
    dseg = np.asanyarray(dseg_img.dataobj).astype(np.int16)
    # symmetric regional texture (label pair k gives 0.8 + 0.03 k), global scale per participant
    real = np.where(dseg > 0, 0.8 + 0.03 * ((dseg + 1) // 2), 0.05) * (1 + 0.1 * rng.normal())
    real[np.isin(dseg, lesion_labels)] *= 0.5
    syn = real * (1 + 0.02 * rng.normal(size=real.shape))
    files = {}
    for key, data in (("syn", syn), ("real", real), ("mask", (dseg > 0).astype(np.uint8))):
        files[key] = tmp / f"{sub}_{key}.nii.gz"
        nib.save(nib.Nifti1Image(data.astype(np.float32), dseg_img.affine), files[key])
    paths = scoring_outputs(out, sub, None, "T1w", "gausspet")
    pets = {"synthetic": files["syn"]} | ({"real": files["real"]} if has_real else {})
    write_territory_table(pets, dseg_file, paths["regions"])
    hs, vs = write_hypometabolism(files["syn"], files["mask"], dseg_file, paths["hypo_synthetic"])
    hr, vr = (write_hypometabolism(files["real"], files["mask"], dseg_file, paths["hypo_real"])
              if has_real else (None, None))  # fmt: skip
    write_participant_scores(paths["metrics"], model="gausspet", synthetic_pet=files["syn"],
                             brain_mask=files["mask"], hypo_synthetic=hs, volumes_synthetic=vs,
                             real_pet=files["real"] if has_real else None, hypo_real=hr,
                             volumes_real=vr)  # fmt: skip
    return vs["total"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("group")
    out, bids, tmp = root / "out", root / "bids", root / "tmp"
    for d in (out, bids, tmp):
        d.mkdir()
    dseg_img, dseg_file = _atlas_4mm(tmp)
    rng = np.random.default_rng(7)
    rows = []
    for i, labels in enumerate(LESION_LABELS, start=1):
        sub = f"{i:02d}"
        volume = _score(out, sub, dseg_img, dseg_file, labels, has_real=i != 10, rng=rng, tmp=tmp)
        nihss = "n/a" if i == 5 else int(round(volume / 15 + rng.integers(0, 2)))
        rows.append({"participant_id": f"sub-{sub}", "group": "control" if not labels else "stroke",
                     "NIHSS": nihss, "mRS": min(6, int(volume // 60))})  # fmt: skip
    pd.DataFrame(rows).to_csv(bids / "participants.tsv", sep="\t", index=False)
    return bids, out


@pytest.mark.slow
def test_group_level_tables_and_statistics(cohort):
    bids, out = cohort
    assert run_group_level(bids_dir=bids, output_dir=out, participant_labels=None,
                           nihss_column="NIHSS", mrs_column="mRS") == 0  # fmt: skip
    metrics = pd.read_csv(out / "group_metrics.tsv", sep="\t", na_values="n/a")
    assert len(metrics) == 10 and metrics["NCC"].notna().sum() == 9
    assert metrics["NCC"].dropna().min() > 0.98
    clinical = pd.read_csv(out / "group_stats_clinical.tsv", sep="\t").set_index(
        ["volume", "score"]
    )
    nihss = clinical.loc[("hypo_synthetic_ml", "NIHSS")]
    assert nihss["n"] == 9 and nihss["n_missing"] == 1  # sub-05's NIHSS is n/a
    assert nihss["rho"] > 0.8 and nihss["p"] < 0.01 and nihss["ci_low"] > 0
    real = clinical.loc[("hypo_real_ml", "NIHSS")]
    assert real["n"] == 8  # sub-10 has no real PET
    agreement = pd.read_csv(out / "group_stats_agreement.tsv", sep="\t")
    mca_left = agreement.query("territory == 'MCA' and hemisphere == 'left'").iloc[0]
    assert mca_left["pearson_r"] > 0.95 and abs(mca_left["ba_bias"]) < 0.02
    hypo = pd.read_csv(out / "group_hypometabolism.tsv", sep="\t", na_values="n/a")
    # normative z against the three controls: the largest lesion is far below them in left MCA
    assert hypo.loc[hypo["participant_id"] == "sub-10", "z_synthetic_mean_left_MCA"].item() < -2
    html = (out / "group.html").read_text()
    assert 'href="sub-03.html"' in html and "<svg" in html
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)  # no network resources


@pytest.mark.slow
def test_group_level_participant_labels_and_missing_clinical(cohort, tmp_path):
    bids, out = cohort
    empty_bids = tmp_path / "bids"
    empty_bids.mkdir()
    assert run_group_level(bids_dir=empty_bids, output_dir=out, participant_labels=["01", "sub-02"],
                           nihss_column="NIHSS", mrs_column="mRS") == 0  # fmt: skip
    metrics = pd.read_csv(out / "group_metrics.tsv", sep="\t")
    assert list(metrics["participant_id"]) == ["sub-01", "sub-02"]
    assert "participants.tsv not found" in (out / "group.html").read_text()


def test_group_level_without_outputs_fails_cleanly(tmp_path, capsys):
    assert run_group_level(bids_dir=tmp_path, output_dir=tmp_path / "nope", participant_labels=None,
                           nihss_column="NIHSS", mrs_column="mRS") == 1  # fmt: skip
    assert "nope" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    assert run_group_level(bids_dir=tmp_path, output_dir=tmp_path / "out", participant_labels=None,
                           nihss_column="NIHSS", mrs_column="mRS") == 1  # fmt: skip
    assert "No participant scoring outputs" in (tmp_path / "out" / "group.html").read_text()


def test_broken_metrics_json_is_named(tmp_path, capsys):
    bad = (
        tmp_path / "out" / "sub-01" / "pet" / "sub-01_trc-FDG_space-T1w_desc-gausspet_metrics.json"
    )
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    assert run_group_level(bids_dir=tmp_path, output_dir=tmp_path / "out", participant_labels=None,
                           nihss_column="NIHSS", mrs_column="mRS") == 1  # fmt: skip
    assert bad.name in capsys.readouterr().err


@pytest.mark.slow
def test_group_level_without_real_pet_or_clinical_columns(tmp_path):
    out, bids, tmp = tmp_path / "out", tmp_path / "bids", tmp_path / "tmp"
    for d in (out, bids, tmp):
        d.mkdir()
    dseg_img, dseg_file = _atlas_4mm(tmp)
    rng = np.random.default_rng(1)
    for i, labels in enumerate([[], [7], [9]], start=1):
        _score(out, f"{i:02d}", dseg_img, dseg_file, labels, has_real=False, rng=rng, tmp=tmp)
    pd.DataFrame({"participant_id": ["sub-01", "sub-02", "sub-03"], "age": [50, 60, 70]}).to_csv(
        bids / "participants.tsv", sep="\t", index=False
    )
    assert run_group_level(bids_dir=bids, output_dir=out, participant_labels=None,
                           nihss_column="NIHSS", mrs_column="mRS") == 0  # fmt: skip
    html = (out / "group.html").read_text()
    assert "No participant has a real PET" in html
    assert "no &#39;NIHSS&#39; column" in html or "no 'NIHSS' column" in html
    hypo = pd.read_csv(out / "group_hypometabolism.tsv", sep="\t", na_values="n/a")
    assert hypo["hypo_synthetic_ml"].iloc[0] == 0 and hypo["hypo_synthetic_ml"].iloc[1] > 10
    assert not (out / "group_stats_agreement.tsv").exists()
