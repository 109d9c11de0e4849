"""The simulated province: a synthetic delivery with learnable but noisy risk signals, and its ground truth.

``generate(out, entities, seed, ...)`` writes the five contract tables (CSV or
Parquet), ``_truth/`` (latent risk per entity) and optionally a dirty CSV copy
with exactly counted defects (``_expected.json``).  See :mod:`.province`.
"""

from .province import SimulationError, generate

__all__ = ["SimulationError", "generate"]
