"""Entry point of the ``gausspet`` console script."""

from __future__ import annotations

import sys

from gausspet_bids.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the requested analysis level."""
    opts = build_parser().parse_args(argv)
    print(f"gausspet: {opts.analysis_level} level is not wired yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
