"""Unit tests of sbomsign._internal."""
