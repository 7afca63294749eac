"""Participant-level preprocessing: Nipype workflows over ANTs, brain extraction, model grid."""
