"""Tests of the package as shipped: public faces, dependencies, clean installs, the bundle."""
