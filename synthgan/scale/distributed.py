"""Re-export of :mod:`synthgan.distributed`, which moved below the synthesizers (the fit uses it)."""

from synthgan.distributed import (  # noqa: F401
    OPTIONS,
    DistContext,
    env_world_size,
    read_shard,
    requested,
    setup,
    shard,
)
