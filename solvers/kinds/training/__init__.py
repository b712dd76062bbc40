"""Training runs: a small network trained by mini-batch SGD on a data set (generated from a
seed, given in the file, or scikit-learn's 8x8 digits), train versus validation.

The first step is a problem of the network kind (the first mini-batch, the initial
parameters, the loss averaged over the batch, every gradient and one SGD step), solved and
shown by the network kind, whose prose this kind uses. Every later step re-evaluates that
same compiled derivation at the next batch and the current parameters (a last smaller batch
has a derivation of its own, also compiled once): no step after the first runs SymPy. Then
the loss per step or per epoch (a table and a curve), the final parameters, the accuracies
and the confusion matrix.

- `spec`: the problem file (`Spec`, `check`);
- `inputs`: what the run starts from (the data split, the initial parameters, each epoch's
  order, the first step as a network problem), shared by the solver and the reference;
- `run`: the trajectory, by the compiled network derivation; `present`: the solution;
- `figures`: the data and the training curve; `reference`: the run in float64 torch
  (torch.optim.SGD, F.cross_entropy), compared step by step.

Quantity keys: those of the network kind's first step (x, y, W1, z1, L, dL_dW1, W1+1, ...),
then L@k, W{l}@k, b{l}@k (after step k), Lepoch@e, Lval@e, accval@e, acctrain@e (epoch e),
acc_train, acc_val and confusion.
"""
from dataclasses import dataclass
from pathlib import Path

from ...kind import Kind
from ..network import KIND as NETWORK
from .inputs import run_inputs
from .present import present, solve
from .reference import reference
from .spec import Spec, check


@dataclass(frozen=True, eq=False)
class TrainingKind(Kind):
    """A kind whose derivation is the network kind's derivation of the run's first step."""

    def compiled(self, structure):
        return NETWORK.compiled(structure)

    def solve(self, spec: Spec, name: str = ""):
        return solve(spec, name)


KIND = TrainingKind("training", Spec, lambda spec: NETWORK.structure(run_inputs(spec).first), NETWORK.derive,
                    lambda spec: NETWORK.given_values(run_inputs(spec).first), present, reference,
                    Path(__file__).parent, check=check, counts_from_zero=True, uses_prose=("network",))
