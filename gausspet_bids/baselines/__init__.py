"""Comparison models evaluated against GaussPET (plain 3D U-Net regression)."""
