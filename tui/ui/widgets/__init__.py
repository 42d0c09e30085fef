"""Widgets of the console, each in its own module."""
