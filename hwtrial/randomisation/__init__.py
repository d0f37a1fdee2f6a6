"""Pure randomisation core: numpy only, randomness injected, frozen results.

Every function that draws takes ``rng`` and starts with ``np.random.default_rng(rng)``.
State is passed in as running counts and returned updated; nothing here touches Flask,
the database or the global ``random`` module.
"""

from .blocks import Block, BlockCursor, allocate_blocked, allocate_from_block, new_block
from .cluster import cluster_allocation
from .counts import MinimisationCounts
from .engine import AllocationState, Step, step
from .factorial import Cell, FactorialDesign, factorial_cells, factorial_design
from .micro import Decision, decide, probability_at
from .minimisation import arm_probabilities, minimise
from .replay import mismatches, replay
from .results import Allocation
from .seeds import block_rng, micro_rng, new_seed, stable_int, stream_rng
from .simple import simple
from .smart import smart_stage2, stage2_options, stage2_stratum
from .spec import AllocationSpec, ClusterParams, MinimisationParams
from .strata import MissingStratumFactor, stratum_key

__all__ = [
    "Allocation", "AllocationSpec", "AllocationState", "Block", "BlockCursor", "Cell",
    "ClusterParams", "Decision", "FactorialDesign", "MinimisationCounts", "MinimisationParams",
    "MissingStratumFactor", "Step", "allocate_blocked", "allocate_from_block",
    "arm_probabilities", "block_rng", "cluster_allocation", "decide", "factorial_cells",
    "factorial_design", "micro_rng", "minimise", "mismatches", "new_block", "new_seed",
    "probability_at", "replay", "simple", "smart_stage2", "stage2_options", "stage2_stratum", "stable_int", "step", "stratum_key", "stream_rng",
]
