"""The registry of problem kinds. Each kind is a folder of this package holding everything
about it (solver code, prose templates in prose/, its README.md) and defining `KIND`; adding
a kind is adding its folder and its name to the list below."""
from ..kind import Kind
from . import (
               activation,
               conv_shape,
               conv_values,
               linear_backprop,
               loss_comparison,
               network,
               param_count,
               relu_regions,
               sigmoid_bumps,
               softmax,
               training,
)

KINDS: dict[str, Kind] = {module.KIND.name: module.KIND for module in (
    network, activation, softmax, conv_shape, conv_values, param_count, loss_comparison, linear_backprop,
    relu_regions, sigmoid_bumps, training)}
