"""Shared test machinery: real servers on free ports, and the rules for missing programs."""
