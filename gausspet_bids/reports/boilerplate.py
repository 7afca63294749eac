"""The "Methods" boilerplate of the participant report, with numbered references.

Every workflow contributes a ``__desc__`` sentence (nipreps style); the participant level joins
the sentences of the workflows it actually built (``methods_text``). This module frames them with
the software versions and adds a citation after the first mention of each tool or resource it
recognises, so the text names only what was used: a dry run that only read the inputs cites
PyBIDS and NiBabel, not ANTs. The references are listed in order of first citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

from gausspet_bids import __version__

REFERENCES = {
    "gausspet": "gausspet: synthetic FDG-PET from routine MRI as a BIDS App. "
    "https://github.com/gausspet/gausspet",
    "gaussPET": "GaussPET: interpretable MRI-to-PET synthesis by a structured linear transform "
    "with Gauss-Seidel bidirectional consistency. Reference implementation "
    "https://github.com/JustlfC03/GaussPET (MIT licence).",
    "nipype": "Gorgolewski K, Burns CD, Madison C, et al. Nipype: a flexible, lightweight and "
    "extensible neuroimaging data processing framework in Python. Front Neuroinform. "
    "2011;5:13. doi:10.3389/fninf.2011.00013",
    "ants": "Avants BB, Epstein CL, Grossman M, Gee JC. Symmetric diffeomorphic image "
    "registration with cross-correlation: evaluating automated labeling of elderly and "
    "neurodegenerative brain. Med Image Anal. 2008;12(1):26-41. "
    "doi:10.1016/j.media.2007.06.004",
    "n4": "Tustison NJ, Avants BB, Cook PA, et al. N4ITK: improved N3 bias correction. IEEE Trans "
    "Med Imaging. 2010;29(6):1310-1320. doi:10.1109/TMI.2010.2046908",
    "deepbet": "Fisch L, Zumdick S, Barkhau C, et al. deepbet: Fast brain extraction of "
    "T1-weighted MRI using Convolutional Neural Networks. Comput Biol Med. 2024;179:108845. "
    "doi:10.1016/j.compbiomed.2024.108845",
    "icbm": "Fonov V, Evans AC, Botteron K, et al. Unbiased average age-appropriate atlases for "
    "pediatric studies. NeuroImage. 2011;54(1):313-327. doi:10.1016/j.neuroimage.2010.07.033",
    "atlas": "Liu C-F, Hsu J, Xu X, et al. Digital 3D Brain MRI Arterial Territories Atlas. "
    "Sci Data. 2023;10:74. doi:10.1038/s41597-022-01923-0 (atlas licensed CC BY-SA 4.0).",
    "pybids": "Yarkoni T, Markiewicz CJ, de la Vega A, et al. PyBIDS: Python tools for BIDS "
    "datasets. J Open Source Softw. 2019;4(40):1294. doi:10.21105/joss.01294",
    "nibabel": "Brett M, Markiewicz CJ, Hanke M, et al. NiBabel. Zenodo. doi:10.5281/zenodo.591597",
    "torch": "Paszke A, Gross S, Massa F, et al. PyTorch: an imperative style, high-performance "
    "deep learning library. Adv Neural Inf Process Syst. 2019;32.",
    "nilearn": "Abraham A, Pedregosa F, Eickenberg M, et al. Machine learning for neuroimaging "
    "with scikit-learn. Front Neuroinform. 2014;8:14. doi:10.3389/fninf.2014.00014",
    "scipy": "Virtanen P, Gommers R, Oliphant TE, et al. SciPy 1.0: fundamental algorithms for "
    "scientific computing in Python. Nat Methods. 2020;17:261-272. "
    "doi:10.1038/s41592-019-0686-0",
    "ssim": "Wang Z, Bovik AC, Sheikh HR, Simoncelli EP. Image quality assessment: from error "
    "visibility to structural similarity. IEEE Trans Image Process. 2004;13(4):600-612. "
    "doi:10.1109/TIP.2003.819861",
}

# (pattern in the methods text, references it calls for), cited after the first match.
_MENTIONS = (
    (r"\bgausspet(?= \d)", ("gausspet",)),
    (r"\bGaussPET\b", ("gaussPET",)),
    (r"\bNipype\b", ("nipype",)),
    (r"\bPyBIDS\b", ("pybids",)),
    (r"\bNiBabel\b", ("nibabel",)),
    (r"\bN4\b", ("n4",)),
    (r"\bANTs\b", ("ants",)),
    (r"\bdeepbet\b", ("deepbet",)),
    (r"\bICBM 2009a\b", ("icbm",)),
    (r"\bLiu et al\. \(2023\)", ("atlas",)),
    (r"\bPyTorch\b", ("torch",)),
    (r"\bSSIM\b", ("ssim",)),
    (r"\bnilearn\b", ("nilearn",)),
    (r"\bSciPy\b", ("scipy",)),
)

_VERSION = r"(?: \d[\w.+-]*\w)?"  # a version right after a name stays with it: "Nipype 1.11 [2]"

# Packages whose versions the framing sentences name (distribution name, shown name).
_VERSIONED = (("nipype", "Nipype"), ("antspyx", "antspyx"), ("deepbet", "deepbet"),
              ("torch", "PyTorch"), ("nilearn", "nilearn"), ("scipy", "SciPy"))  # fmt: skip

COPYRIGHT_NOTE = (
    "This text was generated automatically by gausspet so that it can be copied into a "
    "manuscript unchanged; it is released under the CC0 licence."
)


@dataclass
class MethodsSection:
    """What the report shows: paragraphs (with ``[n]`` citations) and numbered references."""

    paragraphs: list[str]
    references: list[tuple[int, str]]

    @property
    def text(self) -> str:
        """Plain text to paste: the paragraphs, then the reference list."""
        refs = "\n".join(f"[{n}] {ref}" for n, ref in self.references)
        return "\n\n".join(self.paragraphs) + ("\n\nReferences\n" + refs if refs else "")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the methods text names (absent ones left out)."""
    out = {}
    for dist, shown in _VERSIONED:
        try:
            out[shown] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def _framing(desc: str, versions: dict[str, str]) -> tuple[str, str]:
    def v(name: str) -> str:
        return f" {versions[name]}" if name in versions else ""

    intro = (
        f"Results were obtained with gausspet {__version__}, a BIDS App built on Nipype{v('Nipype')}"
        " for workflow execution."
    )
    tools = []
    if re.search(r"\bANTs\b", desc):
        tools.append(f"ANTs (antspyx{v('antspyx')})")
    if re.search(r"\bdeepbet\b", desc):
        tools.append(f"deepbet{v('deepbet')}")
    if re.search(r"\bGaussPET\b", desc):
        tools.append(f"PyTorch{v('PyTorch')}")
    closing = (
        f"Statistics used SciPy{v('SciPy')}; report figures were drawn with nilearn{v('nilearn')}."
    )
    if tools:
        closing = "Software versions: " + ", ".join(tools) + ". " + closing
    return intro, closing


def _cite(paragraphs: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Insert ``[n]`` after the first mention of each recognised tool, across paragraphs."""
    numbers: dict[str, int] = {}
    done: set[str] = set()
    out = []
    for text in paragraphs:
        hits = []
        for pattern, keys in _MENTIONS:
            if pattern in done:
                continue
            match = re.search(pattern + _VERSION, text)
            if match:
                hits.append((match.end(), pattern, keys))
        hits.sort()
        pieces, start = [], 0
        for end, pattern, keys in hits:
            done.add(pattern)
            for key in keys:
                numbers.setdefault(key, len(numbers) + 1)
            pieces += [text[start:end], " [" + ",".join(str(numbers[k]) for k in keys) + "]"]
            start = end
        out.append("".join(pieces) + text[start:])
    refs = [(n, REFERENCES[key]) for key, n in numbers.items()]
    return out, refs


def _drop_repeats(text: str) -> str:
    """Drop sentences that repeat an earlier one word for word (a second session's workflows
    describe the same steps)."""
    seen, kept = set(), []
    for sentence in re.split(r"(?<=[.!?]) (?=[A-Z])", text):
        if sentence not in seen:
            seen.add(sentence)
            kept.append(sentence)
    return " ".join(kept)


def methods_section(desc: str, versions: dict[str, str] | None = None) -> MethodsSection | None:
    """The Methods section for the joined workflow descriptions ``desc`` (None when empty)."""
    desc = _drop_repeats(" ".join(desc.split()))
    if not desc:
        return None
    intro, closing = _framing(desc, package_versions() if versions is None else versions)
    paragraphs, refs = _cite([intro, desc, closing])
    return MethodsSection(paragraphs=paragraphs, references=refs)
