from gausspet_bids.cli.parser import build_parser


def test_labels_accept_prefix_or_not():
    opts = build_parser().parse_args(
        [
            "/data",
            "/out",
            "participant",
            "--participant-label",
            "sub-01",
            "02",
            "--session-label",
            "ses-1",
        ]
    )
    assert opts.participant_label == ["01", "02"]
    assert opts.session_label == ["1"]
    assert opts.device == "cpu"
    assert opts.suvr_reference == "cerebellar-gm"
