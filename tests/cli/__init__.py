"""Tests of exaone-generate (exaone_desktop.cli) and the pipeline API."""
