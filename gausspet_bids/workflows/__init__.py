"""Participant- and group-level workflows."""
