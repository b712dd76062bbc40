"""Problem kinds: one module each, registered with `solvers.problem.kind`."""
from . import network  # noqa: F401
