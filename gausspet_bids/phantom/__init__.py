"""Digital reference cohort: realistic synthetic stroke/control MRI + FDG-PET with ground truth.

Entry points: :func:`gausspet_bids.phantom.cohort.plan_cohort` (who has what),
:func:`gausspet_bids.phantom.bids_writer.write_bids_cohort` (BIDS raw dataset + ground truth),
:func:`gausspet_bids.phantom.aligned.write_aligned_cohort` (model-grid training layout), and the
``gausspet-phantom`` command (:mod:`gausspet_bids.phantom.cli`). See docs/phantom.md.
"""
