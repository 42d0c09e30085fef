"""The Textual console: widgets, themes and settings. Depends on the engine, never the reverse."""
