"""A chaos soak of tusd_py: three instances over one Redis and one small disk under mixed load and injected faults,
checked against invariants at the end (`make soak`; docs/RELIABILITY.md)."""
