"""Problem kinds: one module each, registered with `solvers.problem.kind`."""
from . import activation, conv_shape, network  # noqa: F401
