"""group.html and the participant figures render in headless Chromium: no console errors, every
image loaded, no network resource, a non-blank screenshot."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from gausspet_bids.reports.figures import participant_figures
from gausspet_bids.workflows.group_level import run_group_level

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed")

WRAPPER = """<html><body><iframe id="f" src="{page}" width="1200" height="900"></iframe>
<pre id="out">pending</pre><script>
document.getElementById('f').addEventListener('load', () => {{
  const d = document.getElementById('f').contentDocument;
  const imgs = [...d.images].map(i => [i.getAttribute('src').slice(0, 60), i.complete && i.naturalWidth > 0]);
  const remote = [...d.querySelectorAll('[src],[href],[*|href]')].map(
      e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('xlink:href') || '')
    .filter(u => /^(https?:)?\\/\\//.test(u));
  const links = [...d.querySelectorAll('a')].map(a => a.getAttribute('href') || a.getAttribute('xlink:href'));
  document.getElementById('out').textContent = 'RESULT' + JSON.stringify({{imgs, remote, links,
    svgs: d.querySelectorAll('svg').length}});
}});
</script></body></html>"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={profile}", "--allow-file-access-from-files",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def check_page(page: Path, tmp: Path) -> dict:
    """Load ``page``; return images/remote resources/links found, assert no console error and a
    non-blank screenshot."""
    wrapper = page.parent / f"_check_{page.stem}.html"
    wrapper.write_text(WRAPPER.format(page=page.name))
    dom = chromium(["--dump-dom", wrapper.as_uri()], tmp / "profile1")
    match = re.search(r"RESULT(\{.*\})</pre>", dom.stdout)
    assert match, dom.stderr[-2000:]
    result = json.loads(
        match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    shot = tmp / f"{page.stem}.png"
    chromium([f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()], tmp / "profile2")
    pixels = np.asarray(__import__("matplotlib.image").image.imread(shot))
    assert pixels.shape[0] == 2400 and pixels[..., :3].std() > 0.02  # something was drawn
    return result


def _make_cohort():
    spec = importlib.util.spec_from_file_location(
        "bench", ROOT / "benchmarks" / "group_level_benchmark.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_cohort


@pytest.mark.slow
def test_group_report_renders_in_chromium(tmp_path):
    root = _make_cohort()(tmp_path / "cohort", 12, models=("gausspet", "unet"))
    out = root / "out"
    assert run_group_level(bids_dir=root / "bids", output_dir=out, participant_labels=None,
                           nihss_column="NIHSS", mrs_column="mRS") == 0  # fmt: skip
    result = check_page(out / "group.html", tmp_path)
    assert result["remote"] == []
    assert all(ok for _, ok in result["imgs"])
    assert result["svgs"] >= 6  # distributions, scatter, Bland-Altman, clinical (x2 models)
    assert "sub-001.html" in result["links"]


@pytest.mark.slow
def test_participant_figures_load_in_chromium(tmp_path):
    atlas = nib.load(
        ROOT / "gausspet_bids/data/atlas/tpl-MNI152NLin6Asym_res-02_atlas-Arterial_dseg.nii.gz"
    )
    affine = atlas.affine @ np.diag([2.0, 2.0, 2.0, 1.0])
    dseg = np.asanyarray(atlas.dataobj)[::2, ::2, ::2].astype(np.int16)
    real = np.where(dseg > 0, 1.0, 0.0)
    real[dseg == 9] = 0.5
    files = {}
    for key, data in (("syn", real * 1.1), ("real", real), ("mask", dseg > 0), ("dseg", dseg),
                      ("hypo", dseg == 9)):  # fmt: skip
        files[key] = tmp_path / f"{key}.nii.gz"
        nib.save(nib.Nifti1Image(data.astype(np.float32), affine), files[key])
    files["coef"] = tmp_path / "sub-01_desc-coef_pet.nii.gz"  # 4D: one map per input contrast
    nib.save(nib.Nifti1Image(np.stack([real, -real], -1).astype(np.float32), affine), files["coef"])
    pngs = participant_figures(
        output_dir=tmp_path / "out", subject="01", session=None, synthetic_pet=files["syn"],
        brain_mask=files["mask"], territory_dseg=files["dseg"], real_pet=files["real"],
        hypo_synthetic=files["hypo"], hypo_real=files["hypo"], coefficient_maps=[files["coef"]],
        reliability_map=files["real"],
    )  # fmt: skip
    assert len(pngs) == 8 and [p.name for p in pngs if "coef" in p.name] == [
        "sub-01_desc-coef0_pet.png", "sub-01_desc-coef1_pet.png"]  # fmt: skip
    assert all(json.loads(p.with_suffix(".json").read_text())["caption"] for p in pngs)
    # the real participant report with these figures, its tables and its methods section
    from gausspet_bids.bids.discovery import SessionInputs
    from gausspet_bids.reports.participant_report import write_participant_report

    (tmp_path / "out" / "sub-01" / "log" / "run1").mkdir(parents=True)
    page = write_participant_report(
        output_dir=tmp_path / "out", subject="01", run_id="run1", status="done",
        sessions=[SessionInputs(subject="01", session=None, accepted_contrasts=["T1w"])],
        methods="Inputs were found with PyBIDS. The image was skull-stripped with deepbet.",
    )  # fmt: skip
    result = check_page(page, tmp_path)
    assert len(result["imgs"]) == 8 and all(ok for _, ok in result["imgs"])
    assert result["remote"] == []
