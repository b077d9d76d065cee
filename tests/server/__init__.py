"""Tests of exaone-serve (exaone_desktop.server)."""
