"""Scoring: image metrics, territory tables, hypometabolic regions, group statistics."""
