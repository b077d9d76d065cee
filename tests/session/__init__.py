"""Tests of exaone_desktop.session: the controller, the chat store, conversations."""
