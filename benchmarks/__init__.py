"""Benchmarks of autolearn against its peers (not run by CI; see ``benchmarks/README.md``).

Each benchmark is one module with ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> Report``; :data:`REGISTRY` lists them explicitly. Run one with
``python -m benchmarks run NAME``.
"""

from __future__ import annotations

__all__ = ["REGISTRY"]

#: Benchmark name -> module (imported only when that benchmark runs).
REGISTRY: dict[str, str] = {
    "meta_learning": "benchmarks.meta_learning",
    "nas_bench201": "benchmarks.nas_bench201",
    "nas_mnist1d": "benchmarks.nas_mnist1d",
    "nas_mnist1d_macro": "benchmarks.nas_mnist1d_macro",
    "nas_mnist1d_confirm": "benchmarks.nas_mnist1d_confirm",
    "nas_transfer": "benchmarks.nas_transfer",
    "nas_transfer_hard": "benchmarks.nas_transfer_hard",
    "learned_optimizer": "benchmarks.learned_optimizer",
    "pruners": "benchmarks.pruners",
    "rl": "benchmarks.rl",
    "sampler_grid": "benchmarks.sampler_grid",
    "samplers": "benchmarks.samplers",
    "storage_overhead": "benchmarks.storage_overhead",
    "worker_throughput": "benchmarks.worker_throughput",
}
