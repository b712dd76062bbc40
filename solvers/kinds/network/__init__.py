"""Feed-forward networks: forward pass, loss, backpropagation and SGD steps.

A kind in three parts, each readable alone:
- `spec`: the problem file (`Spec`, `check`, `structure`): what a TA writes, and every way
  it can be wrong;
- `derive`: the derivation (`derive`), built once per network *structure* from SymPy's local
  derivatives and the chain rule, layer by layer; `solve` evaluates it at the numbers;
- `reference`: the same network rebuilt in float64 torch with torch.nn.functional and
  autograd, sharing nothing with `derive` but the quantity keys.

Quantity keys (also the names verification reports): x, y, eta, W{l}, b{l}, z{l}, a{l}, L,
fprime{l} (f'(p) of layer l), J{l} (softmax Jacobian), dL_d<key> (∂L/∂ that quantity);
quantities of SGD step k > 1 end in +{k-1}, parameters after k steps are W{l}+{k}.
"""
import sys

from ...problem import kind
from .constraints import CONSTRAINTS
from .derive import derive, solve
from .reference import reference
from .spec import Spec, check, given_values, structure

__all__ = ["Spec", "check", "structure", "given_values", "derive", "solve", "reference", "CONSTRAINTS"]

kind("network")(sys.modules[__name__])
