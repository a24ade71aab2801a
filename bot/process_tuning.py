"""How a crmbot service process runs its interpreter once it has started.

Applied by ``crmbot run`` after start-up and warm-up (and by the benchmarks that measure
a service path, so they measure it as it runs):

- What start-up left alive is collected once and frozen: full collections (100+ ms each
  with the libraries loaded) no longer walk it.
- The youngest generation is collected every :data:`YOUNG_THRESHOLD` allocations instead
  of CPython's 700: an ingest batch of 1,000 mentions allocates hundreds of thousands of
  short-lived objects, and at 700 the collector ran hundreds of times per batch, each
  pass promoting survivors that later older-generation passes walk again.
- A thread hands the interpreter back within :data:`SWITCH_INTERVAL` when another waits
  (CPython's 5 ms was paid on every hop between the event loop and database threads).
"""

from __future__ import annotations

import gc
import sys

YOUNG_THRESHOLD = 20_000
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits for it


def settle() -> None:
    """Collect and freeze what start-up left, and set the collector's and the thread
    switch's pace for serving."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    sys.setswitchinterval(SWITCH_INTERVAL)
