"""Benchmarks for Quorum: runnable modules that print figures and write bench/results/*.json."""
