"""Tests of exaone_convert: conversion, quantization, GGUF checks, the checkpoint factory."""
