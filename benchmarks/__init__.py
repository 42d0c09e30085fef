"""Benchmarks (not tests): `make bench` runs them; see /work/shared/spec/quality.md."""
