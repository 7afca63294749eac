"""Which inputs each participant and session has, found with pybids.

One :class:`SessionInputs` per participant/session says which MRI contrasts and which FDG-PET
can be used, which files were passed over and why, and whether the session can be processed
at all. Everything is a plain dataclass of strings, numbers and lists (``asdict`` gives JSON).

Naming conventions read (see docs/inputs.md):

- ``anat/*_T1w``, ``anat/*_T2w``, ``anat/*_FLAIR``: 3D images.
- ``dwi/*_dwi`` with ``.bval``/``.bvec``: 4D diffusion series; it provides both the DWI (trace
  b≈1000) and the ADC contrasts (the preprocessing computes them).
- Precomputed scanner maps (BIDS has no raw suffix for them): ``dwi/*_desc-ADC_dwi`` and
  ``dwi/*_desc-trace_dwi``, 3D, listed in the dataset's ``.bidsignore`` so that the validator
  skips them. A 4D series wins over a precomputed map of the same contrast.
- ``pet/*_pet``: the tracer is the ``trc`` entity, else ``TracerName`` in the sidecar; only FDG
  is used, other tracers are listed and ignored. 3D, or 4D with ``FrameTimesStart`` and
  ``FrameDuration`` (one value per frame) in the sidecar.

Several candidates for one input (runs, acquisitions): unusable files are dropped first; then
images without a contrast agent (``ce``) win, then the highest ``run`` (a repeat is usually made
because the earlier run was bad), then the file name in sorted order.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gausspet_bids.bids.image_check import ImageInfo, check_image

LOGGER = logging.getLogger("gausspet.bids")

CONTRASTS = ("T1w", "T2w", "FLAIR", "DWI", "ADC")
FILTER_KEYS = ("t1w", "t2w", "flair", "dwi", "adc", "pet")
NIFTI = [".nii", ".nii.gz"]
# Folders never read: other modalities, derivatives (possibly our own output), source data.
_IGNORED = re.compile(
    r"/(derivatives|sourcedata|code|stimuli|models|func|fmap|perf|beh|eeg|meg|ieeg|micr|nirs|motion|mrs)/"
)
_FDG_NAMES = ("FDG", "FLUORODEOXYGLUCOSE", "DEOXYGLUCOSE", "FLUDEOXYGLUCOSE")


@dataclass
class SkippedFile:
    """A file that was found but not used, and why."""

    path: str
    reason: str


@dataclass
class PetInput:
    """The FDG-PET of a session: image, sidecar and frame timing."""

    path: str
    sidecar: str | None
    tracer: str
    n_frames: int
    frame_times_start: list[float] | None = None
    frame_duration: list[float] | None = None
    units: str | None = None


@dataclass
class SessionInputs:
    """The usable inputs of one participant and session (``session`` is None without sessions)."""

    subject: str
    session: str | None
    t1w: str | None = None
    t2w: str | None = None
    flair: str | None = None
    dwi: str | None = None
    dwi_bval: str | None = None
    dwi_bvec: str | None = None
    dwi_trace: str | None = None
    adc: str | None = None
    pet: PetInput | None = None
    images: dict[str, ImageInfo] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accepted_contrasts: list[str] = field(default_factory=lambda: list(CONTRASTS))

    @property
    def label(self) -> str:
        """``sub-01_ses-1`` (or ``sub-01``)."""
        return f"sub-{self.subject}" + (f"_ses-{self.session}" if self.session else "")

    @property
    def available_contrasts(self) -> list[str]:
        """Contrasts present and usable, in the canonical order."""
        present = {
            "T1w": self.t1w,
            "T2w": self.t2w,
            "FLAIR": self.flair,
            "DWI": self.dwi or self.dwi_trace,
            "ADC": self.dwi or self.adc,
        }
        return [c for c in CONTRASTS if present[c]]

    @property
    def contrasts(self) -> list[str]:
        """Usable contrasts that the model accepts: what synthesis will get."""
        return [c for c in self.available_contrasts if c in self.accepted_contrasts]

    @property
    def usable(self) -> bool:
        return bool(self.contrasts)

    @property
    def skip_reason(self) -> str | None:
        """Why the session cannot be processed, naming what is missing; None when it can."""
        if self.usable:
            return None
        found = self.available_contrasts
        msg = (
            f"{self.label}: no usable MRI contrast among those the model accepts "
            f"({', '.join(self.accepted_contrasts)})"
        )
        if found:
            msg += f"; found only {', '.join(found)}"
        bad = [s for s in self.skipped if "unusable" in s.reason]
        if bad:
            msg += f"; {len(bad)} unusable file(s) (see the report)"
        return msg

    def paths(self) -> dict[str, str | None]:
        """The chosen files by role, named as the preprocessing factory's arguments."""
        return {
            "t1w": self.t1w,
            "t2w": self.t2w,
            "flair": self.flair,
            "dwi": self.dwi,
            "bval": self.dwi_bval,
            "bvec": self.dwi_bvec,
            "adc": self.adc,
            "trace": self.dwi_trace,
            "pet": self.pet.path if self.pet else None,
            "pet_json": self.pet.sidecar if self.pet else None,
        }

    def to_dict(self) -> dict:
        """JSON-able dictionary, with the derived fields spelled out."""
        data = asdict(self)
        data.update(
            label=self.label,
            available_contrasts=self.available_contrasts,
            contrasts=self.contrasts,
            usable=self.usable,
            skip_reason=self.skip_reason,
        )
        return data


def build_layout(bids_dir: Path | str):
    """Index ``bids_dir`` with pybids: no validation, no database, no derivatives, no metadata.

    Metadata of the few files we use are read from their sidecars later (``read_sidecar``),
    which keeps indexing fast on large datasets.
    """
    from bids import BIDSLayout
    from bids.layout import BIDSLayoutIndexer

    indexer = BIDSLayoutIndexer(validate=False, index_metadata=False, ignore=[_IGNORED])
    return BIDSLayout(
        str(bids_dir), validate=False, config=["bids", "derivatives"], indexer=indexer
    )


def list_participants(bids_dir: Path | str) -> list[str]:
    """Participant labels (without ``sub-``) from the folder names, sorted."""
    return sorted(p.name[4:] for p in Path(bids_dir).glob("sub-*") if p.is_dir())


def list_sessions(bids_dir: Path | str, participants: Iterable[str] | None = None) -> list[str]:
    """Session labels (without ``ses-``) found under the given participants, sorted."""
    subjects = list_participants(bids_dir) if participants is None else participants
    found = {
        p.name[4:]
        for sub in subjects
        for p in (Path(bids_dir) / f"sub-{sub}").glob("ses-*")
        if p.is_dir()
    }
    return sorted(found)


def read_sidecar(layout, path: str) -> tuple[dict, str | None]:
    """Metadata of ``path`` merged along the BIDS inheritance principle, and the nearest sidecar.

    Uses pybids' own lookup of the applicable JSON files (most specific last).
    """
    bids_file = layout.get_file(path)
    sidecars = [
        f
        for f in layout.get_nearest(
            path, extension=".json", suffix=bids_file.entities["suffix"], all_=True, strict=True
        )
        or []
    ]
    merged: dict = {}
    for sidecar in reversed(sidecars):  # get_nearest lists the nearest first
        with open(sidecar) as fh:
            try:
                merged.update(json.load(fh))
            except ValueError as exc:
                raise ValueError(f"{sidecar} is not valid JSON: {exc}") from exc
    return merged, (sidecars[0] if sidecars else None)


def is_fdg(tracer: str | None) -> bool:
    """True for the usual spellings of FDG: FDG, 18F-FDG, [18F]FDG, fluorodeoxyglucose, ..."""
    if not tracer:
        return False
    norm = re.sub(r"[^A-Z]", "", tracer.upper())
    return any(name in norm for name in _FDG_NAMES)


def _preference(bids_file) -> tuple:
    entities = bids_file.entities
    try:
        run = int(entities.get("run", 0) or 0)
    except (TypeError, ValueError):
        run = 0
    return ("ceagent" in entities, -run, bids_file.path)


def _query(layout, base: Mapping, user: Mapping | None) -> list:
    from bids.layout import Query

    filters = dict(base)
    for key, value in (user or {}).items():
        if value is None:
            value = Query.NONE
        elif value == "*":
            value = Query.ANY
        filters[key] = value
    return sorted(layout.get(**filters), key=_preference)


def _pick(candidates, kind: str, ndim: tuple[int, ...], session: SessionInputs, check: bool):
    """Check candidates in preference order; keep the first usable one, note the rest."""
    chosen = None
    for bids_file in candidates:
        info = check_image(bids_file.path, ndim=ndim, check_data=check)
        session.images[bids_file.path] = info
        if not info.usable:
            session.skipped.append(SkippedFile(bids_file.path, f"unusable {kind}: {info.problem}"))
            LOGGER.warning(
                "%s: unusable %s %s: %s", session.label, kind, bids_file.path, info.problem
            )
        elif chosen is None:
            chosen = bids_file
        else:
            session.skipped.append(
                SkippedFile(bids_file.path, f"another {kind} was chosen: {Path(chosen.path).name}")
            )
    return chosen


def _kinds() -> dict[str, tuple[dict, str]]:
    """Input kind -> (its PyBIDS query, the --bids-filter-file key that refines it)."""
    from bids.layout import Query

    return {
        "t1w": ({"datatype": "anat", "suffix": "T1w"}, "t1w"),
        "t2w": ({"datatype": "anat", "suffix": "T2w"}, "t2w"),
        "flair": ({"datatype": "anat", "suffix": "FLAIR"}, "flair"),
        "dwi": ({"datatype": "dwi", "suffix": "dwi", "desc": Query.NONE}, "dwi"),
        "dwi_trace": ({"datatype": "dwi", "suffix": "dwi", "desc": "trace"}, "dwi"),
        "adc": ({"datatype": "dwi", "suffix": "dwi", "desc": "ADC"}, "adc"),
        "pet": ({"datatype": "pet", "suffix": "pet"}, "pet"),
    }


def index_candidates(
    layout,
    *,
    subjects: list[str],
    sessions: list[str] | None = None,
    bids_filters: Mapping[str, Mapping] | None = None,
) -> dict[tuple[str, str | None], dict[str, list]]:
    """Candidate files per (subject, session) and input kind, in preference order.

    One PyBIDS query per input kind for all participants (a query costs tens of ms, so
    querying per session would dominate on large datasets).
    """
    filters = dict(bids_filters or {})
    index: dict[tuple[str, str | None], dict[str, list]] = {}
    for kind, (query, key) in _kinds().items():
        base = {**query, "extension": NIFTI, "subject": subjects}
        if sessions:
            base["session"] = sessions
        for bids_file in _query(layout, base, filters.get(key)):
            where = (bids_file.entities["subject"], bids_file.entities.get("session"))
            index.setdefault(where, {}).setdefault(kind, []).append(bids_file)
    return index


def _gradient_file(layout, path: str, extension: str) -> str | None:
    """The .bval/.bvec of a DWI series: the sibling file, else one inherited from above."""
    stem = path[: -len(".nii.gz")] if path.endswith(".nii.gz") else path[: -len(".nii")]
    sibling = Path(stem + extension)
    if sibling.is_file():
        return str(sibling)
    return layout.get_nearest(path, extension=extension, suffix="dwi")


def _find_dwi(layout, candidates, session, check):
    with_gradients, gradients = [], {}
    for bids_file in candidates.get("dwi", []):
        bval = _gradient_file(layout, bids_file.path, ".bval")
        bvec = _gradient_file(layout, bids_file.path, ".bvec")
        if bval and bvec:
            with_gradients.append(bids_file)
            gradients[bids_file.path] = (bval, bvec)
        else:
            missing = " and ".join(n for n, f in ((".bval", bval), (".bvec", bvec)) if not f)
            session.skipped.append(
                SkippedFile(bids_file.path, f"unusable DWI series: no {missing} file")
            )
    chosen = _pick(with_gradients, "DWI series", (4,), session, check)
    if chosen:
        session.dwi = chosen.path
        session.dwi_bval, session.dwi_bvec = gradients[chosen.path]
    for desc, attr in (("trace", "dwi_trace"), ("ADC", "adc")):
        maps = candidates.get(attr, [])
        if chosen and maps:
            for m in maps:
                session.skipped.append(
                    SkippedFile(
                        m.path, f"the 4D DWI series is used instead of a precomputed {desc} map"
                    )
                )
            continue
        picked = _pick(maps, f"{desc} map", (3,), session, check)
        if picked:
            setattr(session, attr, picked.path)


def _find_pet(layout, candidates, session, check):
    for bids_file in candidates.get("pet", []):
        try:
            meta, sidecar = read_sidecar(layout, bids_file.path)
        except (OSError, ValueError) as exc:
            why = f"unusable PET: its JSON sidecar cannot be read ({exc})"
            session.skipped.append(SkippedFile(bids_file.path, why))
            LOGGER.warning("%s: %s: %s", session.label, bids_file.path, why)
            continue
        tracer = bids_file.entities.get("tracer") or meta.get("TracerName")
        if not is_fdg(tracer):
            why = (
                f"tracer {tracer} is not FDG"
                if tracer
                else "no tracer given (trc entity or TracerName)"
            )
            session.skipped.append(SkippedFile(bids_file.path, f"PET ignored: {why}"))
            LOGGER.info("%s: PET %s ignored: %s", session.label, bids_file.path, why)
            continue
        if session.pet is not None:
            session.skipped.append(SkippedFile(bids_file.path, "another FDG-PET was chosen"))
            continue
        info = check_image(bids_file.path, ndim=(3, 4), check_data=check)
        session.images[bids_file.path] = info
        problem = info.problem
        starts, durations = meta.get("FrameTimesStart"), meta.get("FrameDuration")
        if problem is None and info.n_frames > 1:
            for name, values in (("FrameTimesStart", starts), ("FrameDuration", durations)):
                n = len(values) if isinstance(values, list) else 0
                if n != info.n_frames:
                    problem = f"the image has {info.n_frames} frames but the sidecar {name} has {n} values"
                    break
        if problem:
            session.skipped.append(SkippedFile(bids_file.path, f"unusable FDG-PET: {problem}"))
            LOGGER.warning("%s: unusable FDG-PET %s: %s", session.label, bids_file.path, problem)
            continue
        session.pet = PetInput(
            path=bids_file.path,
            sidecar=sidecar,
            tracer=str(tracer),
            n_frames=info.n_frames,
            frame_times_start=starts if isinstance(starts, list) else None,
            frame_duration=durations if isinstance(durations, list) else None,
            units=meta.get("Units"),
        )


def discover_session(
    layout,
    subject: str,
    session: str | None,
    *,
    candidates: Mapping[str, list],
    accepted_contrasts: Iterable[str],
    check_data: bool = True,
) -> SessionInputs:
    """Check the candidates of one participant/session (from :func:`index_candidates`)."""
    found = SessionInputs(
        subject=subject, session=session, accepted_contrasts=list(accepted_contrasts)
    )
    for kind, name in (("t1w", "T1w"), ("t2w", "T2w"), ("flair", "FLAIR")):
        picked = _pick(candidates.get(kind, []), name, (3,), found, check_data)
        if picked:
            setattr(found, kind, picked.path)
    _find_dwi(layout, candidates, found, check_data)
    _find_pet(layout, candidates, found, check_data)
    unused = [c for c in found.available_contrasts if c not in found.accepted_contrasts]
    if unused:
        found.notes.append(f"found but not used by the model: {', '.join(unused)}")
    return found


def discover(
    bids_dir: Path | str,
    *,
    accepted_contrasts: Iterable[str] = CONTRASTS,
    participant_labels: Iterable[str] | None = None,
    session_labels: Iterable[str] | None = None,
    bids_filters: Mapping[str, Mapping] | None = None,
    check_data: bool = True,
    layout=None,
) -> list[SessionInputs]:
    """Discover the inputs of every selected participant and session, in sorted order.

    Participants and sessions are the ``sub-*``/``ses-*`` folders, so that one whose files
    are all of other kinds is reported too. Sessions without any usable accepted contrast are
    returned with ``usable`` False and ``skip_reason`` saying what is missing.
    """
    layout = layout or build_layout(bids_dir)
    accepted = list(accepted_contrasts)
    subjects = sorted(participant_labels) if participant_labels else list_participants(bids_dir)
    wanted = sorted(session_labels) if session_labels else None
    index = index_candidates(layout, subjects=subjects, sessions=wanted, bids_filters=bids_filters)
    results = []
    for subject in subjects:
        sessions = list_sessions(bids_dir, [subject]) or [None]
        for session in sessions:
            if wanted is not None and session not in wanted:
                continue
            found = discover_session(
                layout,
                subject,
                session,
                candidates=index.get((subject, session), {}),
                accepted_contrasts=accepted,
                check_data=check_data,
            )
            if found.usable:
                LOGGER.info(
                    "%s: contrasts %s, FDG-PET %s", found.label, found.contrasts, bool(found.pet)
                )
            else:
                LOGGER.warning("%s", found.skip_reason)
            results.append(found)
    return results
