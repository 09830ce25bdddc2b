"""Benchmarks for Quorum: runnable modules that print figures and write bench/results/*.json."""


def fresh_database(server_url: str, name: str) -> None:
    """Drop and create database ``name`` on the PostgreSQL server at ``server_url`` (no database part)."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
