"""``python -m gausspet_bids`` behaves like the ``gausspet`` console script."""

from gausspet_bids.cli.run import main

if __name__ == "__main__":
    raise SystemExit(main())
