"""Flags: one rule language for bad data, resolved into masks and applied per step.

rules (the file format), steps (which step applies a rule; per-step parameter subsets),
resolve (rules -> boolean masks over data[time, beam, pol, band, chan]).
"""
