"""The problem file of a training run: the data, the network, the loss and the training loop,
and everything about them a schema cannot see (`check`)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt

from ...activations import DEFAULT_ALPHA, ELEMENTWISE
from ...core import FieldError, Model, Number, SpecBase

MOST_EXAMPLES = 1000  # examples of a data set (generated, given or taken from the digits)
MOST_STEPS = 2000  # optimisation steps of a run: it stays a second or two to build and to verify
MOST_EPOCHS = 100
MOST_CLASSES = 10
MOST_UNITS = 10  # units of a hidden layer

Seed = Annotated[StrictInt, Field(ge=0, le=2**32 - 1)]
Row = Annotated[list[Number], Field(min_length=1)]


class Data(Model):
    """Where the examples come from: a generator of solvers.datasets, the points given, or
    scikit-learn's 8x8 digits; and the fraction held out for validation."""
    generate: Literal["two_moons", "blobs", "xor"] | None = None
    points: Annotated[list[Row], Field(min_length=2, max_length=MOST_EXAMPLES)] | None = None
    labels: list[StrictInt] | None = None
    digits: StrictBool = False
    examples: Annotated[StrictInt, Field(ge=2, le=MOST_EXAMPLES)] | None = None
    noise: Annotated[Number, Field(ge=0)] | None = None  # generators: the noise's (blobs: each cluster's) std
    classes: Annotated[StrictInt, Field(ge=2, le=MOST_CLASSES)] | None = None  # blobs only (default 2)
    seed: Seed = 0
    validation: Annotated[Number, Field(ge=0, lt=1)] = 0.0


class Hidden(Model):
    units: Annotated[StrictInt, Field(ge=1, le=MOST_UNITS)]
    activation: Literal[ELEMENTWISE]  # type: ignore[valid-type]
    alpha: Annotated[Number, Field(gt=0)] | None = None


class Init(Model):
    """Weights drawn N(0, scale²) by numpy.random.default_rng(seed), biases 0."""
    seed: Seed
    scale: Annotated[Number, Field(gt=0)] = 1.0


class Given(Model):
    """One layer's parameters as given, in the file's layout."""
    weights: Annotated[list[Row], Field(min_length=1)]
    bias: Row | None = None  # omitted: zeros


class Network(Model):
    hidden: Annotated[list[Hidden], Field(max_length=4)] = []
    init: Init | None = None
    layers: list[Given] | None = None  # the hidden layers', then the output layer's parameters
    layout: Literal["rows", "columns"] = "rows"


class Training(Model):
    learning_rate: Annotated[Number, Field(gt=0)]
    epochs: Annotated[StrictInt, Field(ge=1, le=MOST_EPOCHS)] | None = None
    steps: Annotated[StrictInt, Field(ge=1, le=MOST_STEPS)] | None = None
    batch_size: Annotated[StrictInt, Field(ge=1)] | None = None  # omitted: the whole training set
    shuffle_seed: Seed | None = None  # omitted: the examples in their order every epoch
    drop_last: StrictBool = False


class Spec(SpecBase):
    kind: Literal["training"]
    kink: Literal["left", "right"] = "left"
    data: Data
    network: Network
    loss: Literal["cross_entropy", "squared_error"] = "cross_entropy"
    training: Training


def check(spec: Spec) -> None:
    """Everything the schema cannot see: which fields go together, sizes, shapes."""
    from .inputs import run_inputs
    _check_data(spec.data)
    _check_network(spec)
    training = spec.training
    if (training.epochs is None) == (training.steps is None):
        raise FieldError("training.epochs", "is given together with training.steps" if training.epochs else
                         "is missing; expected epochs (passes over the training set) or steps (mini-batch steps)")
    run_inputs(spec)  # the data, the parameters and the first step, as the run uses them: raises FieldError


def _check_data(data: Data) -> None:
    sources = [name for name, given in (("generate", data.generate), ("points", data.points),
                                        ("digits", data.digits)) if given]
    if len(sources) != 1:
        raise FieldError("data", f"{'gives ' + ' and '.join(sources) if sources else 'has no examples'}; expected "
                         "one of generate (two_moons, blobs, xor), points with labels, or digits: true")
    if data.generate and data.examples is None:
        raise FieldError("data.examples", f"is missing; expected the number of examples {data.generate} draws")
    if data.points is not None:
        if data.examples is not None:
            raise FieldError("data.examples", "is given, but the examples are the points given; leave it out")
        if data.labels is None or len(data.labels) != len(data.points):
            given = "is missing" if data.labels is None else f"has {len(data.labels)} labels"
            raise FieldError("data.labels", f"{given}, but data.points has {len(data.points)} points; expected "
                             "one label (a class number from 0) per point")
        for i, point in enumerate(data.points):
            if len(point) != len(data.points[0]):
                raise FieldError(f"data.points[{i}]", f"has {len(point)} entries, but point 0 has "
                                 f"{len(data.points[0])}; expected every point to have the same number of entries")
        for i, label in enumerate(data.labels):
            if not 0 <= label < MOST_CLASSES:
                raise FieldError(f"data.labels[{i}]", f"is {label}; expected a class number from 0 to "
                                 f"{MOST_CLASSES - 1}")
        if len(set(data.labels)) < 2:
            raise FieldError("data.labels", "name one class only; expected examples of at least 2 classes")
    elif data.labels is not None:
        raise FieldError("data.labels", "labels the points given; expected data.points with them, or no labels")
    if data.noise is not None and not data.generate:
        raise FieldError("data.noise", "applies to generated data only (data.generate)")
    if data.classes is not None and data.generate != "blobs":
        raise FieldError("data.classes", "applies to blobs only (two_moons and xor have 2 classes)")


def _check_network(spec: Spec) -> None:
    net = spec.network
    if (net.init is None) == (net.layers is None):
        raise FieldError("network.init", "is given together with network.layers" if net.init else
                         "is missing; expected init (seed and scale of random weights) or layers (the weights given)")
    for i, layer in enumerate(net.hidden):
        if layer.alpha is not None and layer.activation not in DEFAULT_ALPHA:
            raise FieldError(f"network.hidden[{i}].alpha", f"only leaky_relu and elu take alpha, not "
                             f"{layer.activation}")
    if net.layers is not None and len(net.layers) != len(net.hidden) + 1:
        raise FieldError("network.layers", f"has {len(net.layers)} layers, but the network has {len(net.hidden)} "
                         f"hidden and one output layer; expected {len(net.hidden) + 1} (hidden, then output)")
