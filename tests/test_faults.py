"""Fault injection (issue 13): every way a user's run can go wrong does what the README's
"When things go wrong" section says, with a one-line error and nothing lost.

Sections: checkpoints that carry code; the run folder (lock, resume, logs, disk full, signals,
changed settings); options checked before work starts; data a user actually has.
"""
from __future__ import annotations

# ---------------------------------------------------------------- data a user actually has
# (16-bit PNGs, flat image folders, truncated images)
