"""The project's tests, by package (a package so that helpers import as ``tests.support.NAME``)."""
