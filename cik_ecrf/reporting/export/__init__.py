"""Data out: ODM 1.3.2, CSV and the endpoint dataset, written from a `Dataset` (no database imports here,
so the server and a laptop share every writer)."""
