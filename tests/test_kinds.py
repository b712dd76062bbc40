"""The kind interface: one folder per kind, a registry, prose lookup without silent
fallbacks, kind-agnostic mistakes, and imports that point one way."""
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from solvers import mistakes
from solvers.kind import Kind
from solvers.kinds import KINDS, network
from solvers.render import prose
from solvers.solution import Item
from solvers.variants import load

ROOT = Path(__file__).resolve().parents[1]
KINDS_FOLDER = ROOT / "solvers" / "kinds"


def test_every_kind_folder_is_registered_with_its_code_prose_and_page():
    folders = sorted(p.name for p in KINDS_FOLDER.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(KINDS)
    for name, kind in KINDS.items():
        assert isinstance(kind, Kind) and kind.folder == KINDS_FOLDER / name
        assert kind.Spec.model_fields["kind"].annotation.__args__ == (name,)
        assert (kind.folder / "README.md").read_text().startswith("#")
        assert list((kind.folder / "prose").glob("*.j2"))


def test_shared_prose_holds_only_what_several_kinds_use():
    shared = sorted(p.name for p in (ROOT / "templates" / "prose").glob("*.j2"))
    assert shared == ["conventions.j2"]
    assert "macro kink(" in (ROOT / "templates" / "prose" / "conventions.j2").read_text()


def test_a_kind_macro_that_shadows_a_shared_one_is_an_error(tmp_path):
    (tmp_path / "prose").mkdir()
    (tmp_path / "prose" / "conventions.j2").write_text("{% macro kink(item) %}mine{% endmacro %}\n")
    with pytest.raises(prose.RenderError, match="defines kink, which templates/prose/conventions.j2"):
        prose._environment(tmp_path)


def test_an_item_without_a_macro_is_named_before_anything_is_rendered():
    problem = load(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    solution = problem.kind.solve(problem.spec, problem.name)
    broken = replace(solution, givens=solution.givens + [Item("no_such_given")],
                     conventions=solution.conventions + [Item("no_such_convention")])
    with pytest.raises(prose.RenderError) as caught:
        prose.prepare(broken)
    assert "givens.j2: no_such_given" in str(caught.value) and "conventions.j2: no_such_convention" in str(caught.value)
    assert str(KINDS_FOLDER / "network" / "prose") in str(caught.value)


def test_a_kind_does_not_see_another_kinds_macros():
    """conv_shape's `shapes` question is not found for a network solution (it once was, from a
    shared file that mixed kinds)."""
    problem = load(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    solution = problem.kind.solve(problem.spec, problem.name)
    with pytest.raises(prose.RenderError, match="questions.j2: shapes"):
        prose.prepare(replace(solution, questions=[Item("shapes", {"layers": 1})]))


def test_reading_a_problem_imports_neither_variants_nor_the_renderer():
    code = ("import sys, solvers.problem, solvers.core; "
            "print(sorted(m for m in sys.modules if m.startswith('solvers.') and "
            "m.split('.')[1] in ('variants', 'render', 'build', 'mistakes')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_core_and_the_kinds_depend_on_no_pipeline_module():
    for path in [ROOT / "solvers" / "core.py", *KINDS_FOLDER.rglob("*.py")]:
        text = path.read_text()
        for module in ("variants", "build", "render", "problem", "verify", "lock"):
            assert f"from ...{module}" not in text and f"from ..{module}" not in text, (path, module)


def test_no_module_is_longer_than_a_sitting():
    for path in (ROOT / "solvers").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 420, path


def test_the_solving_scaffolding_derives_once_per_structure():
    problem = load(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    kind = problem.kind
    first = kind.compiled(kind.structure(problem.spec))
    other = problem.spec.model_copy(update={"title": "other numbers"})
    assert kind.compiled(kind.structure(other)) is first
    assert kind.solve(other).derivation is first[0]


def test_bias_dropped_is_one_entry_that_rewrites_givens_by_role():
    problem = load(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    solution = problem.kind.solve(problem.spec, problem.name)
    assert mistakes.BIAS_DROPPED in network.KIND.mistakes and mistakes.BIAS_DROPPED.applies(problem, solution)
    replayed = mistakes.BIAS_DROPPED.replay(network.KIND, problem)
    # z1 = w1 x + b1 = -2·1 + 3 = 1 correctly; without the bias -2, and ReLU gives 0
    assert solution.values["z1"][0, 0] == 1 and replayed["z1"][0, 0] == -2 and replayed["a1"][0, 0] == 0
    unbiased = replace(problem, spec=problem.spec.model_copy(update={"biases": "ignore"}))
    assert not mistakes.BIAS_DROPPED.applies(unbiased, unbiased.kind.solve(unbiased.spec))


NETWORK_PROBLEMS = sorted(p for p in (ROOT / "problems").rglob("*.yaml") if "kind: network" in p.read_text())


@pytest.mark.parametrize("path", NETWORK_PROBLEMS, ids=lambda p: p.stem)
def test_a_kinds_answers_alone_are_the_answers_it_presents(path):
    """`Kind.answers_at` (what a mistake's replay asks for) is `present`'s answers, on every
    network problem of the bank, at the right values and at a mistake's."""
    problem = load(path)
    solution = problem.kind.solve(problem.spec, problem.name)
    assert problem.kind.answers is not None
    for values in (solution.values, mistakes.BIAS_DROPPED.replay(problem.kind, problem)):
        presented = problem.kind.present(problem.spec, solution.derivation, dict(values)).answers
        alone = problem.kind.answers_at(problem.spec, solution.derivation, dict(values))
        assert [(a.name, a.key) for a in alone] == [(a.name, a.key) for a in presented] and alone
        for a, b in zip(alone, presented):
            np.testing.assert_array_equal(a.value, b.value)


def test_the_relu_mask_mistake_replays_the_backward_pass_without_the_mask():
    problem = load(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    solution = problem.kind.solve(problem.spec, problem.name)
    replayed = mistakes.RELU_MASK_FORGOTTEN.replay(network.KIND, problem)
    np.testing.assert_array_equal(replayed["fprime1"], np.ones_like(solution.values["fprime1"]))
    assert replayed["z1"][0, 0] == solution.values["z1"][0, 0]  # the forward pass is untouched


def test_no_module_level_import_cycle_in_the_package():
    import ast
    import collections
    modules = {}
    for path in (ROOT / "solvers").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = collections.defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.parse(path.read_text()).body:  # module level only: lazy imports inside functions are fine
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                graph[name] |= {t for t in [target, *(f"{target}.{a.name}" for a in node.names)]
                                if t in modules and t != name}

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and not seen.add(n) and reaches(n, goal, seen)) for n in graph[start])

    cycles = [name for name in modules if reaches(name, name, set())]
    assert cycles == []
