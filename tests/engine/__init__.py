"""Tests of exaone_desktop.engine: sampling, chat templates, the llama.cpp runtime, cloud, documents."""
