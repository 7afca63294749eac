"""gausspet: synthetic FDG-PET from routine MRI, as a BIDS App."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gausspet")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

CODE_URL = "https://github.com/gausspet/gausspet"
