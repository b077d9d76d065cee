"""Tests of the app (exaone_desktop.ui and exaone_desktop.app, real Qt offscreen)."""
