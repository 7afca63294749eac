"""Packaged resources: arterial territory atlas (CC BY-SA 4.0), label tables, default model."""

from importlib.resources import files


def data_path(*parts: str):
    """Path of a packaged resource, e.g. ``data_path("atlas", "atlas-Arterial_dseg.tsv")``."""
    return files(__name__).joinpath(*parts)
