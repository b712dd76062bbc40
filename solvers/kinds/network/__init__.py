"""Feed-forward networks: forward pass, loss, backpropagation and optimiser steps, on one
example or a batch.

A kind in four parts, each readable alone:
- `spec`: the problem file (`Spec`, `check`, `structure`, `given_values`): what a TA writes,
  and every way it can be wrong;
- `derive`: the derivation, built once per network *structure* from SymPy's local
  derivatives and the chain rule, layer by layer;
- `present`: the givens, questions, conventions and answers around it;
- `reference`: the same network rebuilt in float64 torch with torch.nn.functional and
  autograd, sharing nothing with `derive` but the quantity keys.

Quantity keys (also the names verification reports): x, y, W{l}, b{l} (1×1 when shared), z{l}, a{l}, L,
fprime{l} (f'(p) of layer l), J{l} (softmax Jacobian), dL_d<key> (∂/∂ that quantity of the loss, or of
`ask.gradients_of`), d<q>_d<v> (the Jacobian ∂q/∂v, e.g. da2_dx); the optimiser's numbers eta, mu, decay, beta1, beta2, eps; quantities of step k > 1
end in +{k-1}, parameters after k steps are W{l}+{k}, the optimiser's state v<key>+{k} (velocity),
m, s, mhat, shat<key>+{k} (Adam). With a batch, x, y, z, a and their gradients have a column (rows
layout) or a row (columns layout) per example.
"""
from pathlib import Path

from ... import mistakes as M
from ...kind import Kind
from .constraints import CONSTRAINTS
from .derive import derive
from .present import answers, present
from .reference import reference
from .spec import Spec, check, given_values, structure

KIND = Kind("network", Spec, structure, derive, given_values, present, reference, Path(__file__).parent,
            check=check, constraints=CONSTRAINTS, counts_from_zero=True, answers=answers,
            mistakes=(M.RELU_MASK_FORGOTTEN, M.BIAS_DROPPED, M.KINK_SIDE_WRONG, M.LEAKY_SLOPE_DROPPED,
                      M.ELU_DERIVATIVE_AS_FUNCTION, M.LOG_BASE_10, M.LOSS_SIGN_DROPPED, M.JACOBIAN_DIAGONAL_ONLY,
                      M.SOFTMAX_SIGMOID_CONFUSED, M.SQUARED_LOSS_HALF_CONFUSED, M.SUM_FOR_MEAN,
                      M.WEIGHT_GRADIENT_TRANSPOSED, M.SGD_WRONG_SIGN, M.ROUNDED_INTERMEDIATES))
