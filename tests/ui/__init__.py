"""Tests of the console widgets, themes and settings."""
