"""Derivations stored as data (solvers.codec): rebuilt node for node, found by a new process,
and an entry that names anything but the listed classes is refused, never imported or run."""
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sympy

from solvers import cache, codec
from solvers.derivation import Derivation
from solvers.lambdified import exact_digest
from solvers.variants import load

ROOT = Path(__file__).resolve().parents[1]
BANK = sorted(p for p in (ROOT / "problems").rglob("*.yaml") if p.name != "sheet.yaml")


def derivation_of(path: Path) -> tuple:
    problem = load(path)
    structure = problem.kind.structure(problem.spec)
    return problem.kind, structure, problem.kind.compiled(structure)[0]


@pytest.mark.parametrize("path", BANK, ids=lambda p: p.stem)
def test_every_derivation_of_the_bank_comes_back_node_for_node(path):
    kind, structure, derivation = derivation_of(path)
    rebuilt = codec.decode(json.loads(json.dumps(codec.encode(derivation))))
    assert isinstance(rebuilt, Derivation) and rebuilt == derivation and repr(rebuilt) == repr(derivation)
    for step, again in zip(derivation.steps, rebuilt.steps):  # exactly the tree: each node's class, leaves' digits
        assert exact_digest(again.compute) == exact_digest(step.compute)
        assert sympy.srepr(again.compute) == sympy.srepr(step.compute)
    assert codec.decode(codec.encode(structure)) == structure


def test_sympy_leaves_keep_their_exact_form():
    x = sympy.Symbol("x", positive=True)
    values = [sympy.Float("0.1", 30), sympy.Rational(-7, 3), sympy.S.Half, sympy.pi, sympy.S.true,
              sympy.Max(x, 0, evaluate=False), sympy.And(x > 1, x < 2), sympy.Piecewise((x, x > 0), (0, True)),
              sympy.Mul(2, x, evaluate=False)]
    for value in values:
        again = codec.decode(json.loads(json.dumps(codec.encode(value))))
        assert sympy.srepr(again) == sympy.srepr(value) and type(again) is type(value)
        if hasattr(type(value), "make_args"):  # Max and And also keep their arguments as a set
            assert type(value).make_args(again) == type(value).make_args(value)
    assert codec.decode(codec.encode(x))._assumptions_orig == {"positive": True}


def test_a_derivation_is_found_by_a_new_process_instead_of_derived(tmp_path, monkeypatch):
    """The second process's derivation comes from the cache: a stored entry whose first
    section was renamed shows up in what that process solves."""
    script = ("import sys; from solvers.variants import load; from solvers.kind import _compiled;"
              "p = load(sys.argv[1]); print(_compiled(p.kind, p.kind.structure(p.spec))[0].sections[0].kind)")
    path = str(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    env = {"SOLVERS_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", script, path], capture_output=True, text=True, env=env, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    (entry,) = (tmp_path / codec.SHELF).rglob("*.json")
    stored = codec.decode(json.loads(json.loads(entry.read_text())["payload"]))
    stored.sections[0] = replace(stored.sections[0], kind="renamed in the cache")
    monkeypatch.setenv(cache.VARIABLE, str(tmp_path))
    cache.store(codec.SHELF, entry.stem, codec.encode(stored))
    second = subprocess.run([sys.executable, "-c", script, path], capture_output=True, text=True, env=env, cwd=ROOT)
    assert first.stdout.strip() != "renamed in the cache" and second.stdout.strip() == "renamed in the cache", second.stderr


def counting(derivation):
    calls = []

    def derive(structure):
        calls.append(structure)
        return derivation
    return derive, calls


def test_remembered_derives_once_and_then_reads(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.VARIABLE, str(tmp_path))
    kind, structure, derivation = derivation_of(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    derive, calls = counting(derivation)
    assert codec.remembered(kind.name, structure, derive) is derivation and len(calls) == 1
    again = codec.remembered(kind.name, structure, derive)
    assert again == derivation and again is not derivation and len(calls) == 1
    assert codec.remembered("other kind", structure, derive) is derivation and len(calls) == 2  # the kind is in the key


NODE = {"n": [["s", "x", []]], "v": {"r": 0}}


@pytest.mark.parametrize("tampered", [
    {"n": [["b", "os:system"]], "v": {"r": 0}}, {"n": [["s", "x", []], ["b", "builtins:eval", 0]], "v": {"r": 1}},
    {"n": [], "v": {"c": "subprocess:Popen", "f": {}}}, {"n": [], "v": {"c": "pathlib:PurePath", "f": {}}},
    {"n": [["b", "sympy.core.symbol:Symbol"]], "v": {"r": 0}}, {"n": [["S", "__class__"]], "v": {"r": 0}},
    {"n": [["b", "json:decoder.JSONDecoder"]], "v": {"r": 0}},
    {"n": [], "v": {"c": "solvers.derivation:Quantity", "f": {"key": "x"}}},
    {"n": [["b", "solvers.codec:_resolve"]], "v": {"r": 0}}, {"n": [], "v": {"no such tag": 1}},
    {"n": [["b", "not_imported_module:Thing"]], "v": {"r": 0}}, {"n": [["no such node"]], "v": 1},
    {"n": [["b", "sympy.core.add:Add", 0]], "v": {"r": 0}},  # an argument that is not before it
    {"n": [["s", "x", []]], "v": {"r": 1}}, {"n": [["s", "x", []]], "v": {"r": True}},
    {"b": "os:system", "a": []}, {**NODE, "extra": 1},
], ids=lambda t: json.dumps(t)[:48])
def test_an_entry_naming_anything_else_is_refused(tampered):
    assert codec.decode(NODE) == sympy.Symbol("x")  # the form these entries tamper with
    before = set(sys.modules)
    with pytest.raises(ValueError):
        codec.decode(tampered)
    assert set(sys.modules) == before  # nothing imported on an entry's word


def test_a_subtree_shared_by_steps_is_stored_once():
    x = sympy.Symbol("x", real=True)
    shared = sympy.exp(x) + x ** 2
    encoded = codec.encode([sympy.sin(shared), sympy.cos(shared), shared])
    classes = [entry[1] if entry[0] == "b" else entry[0] for entry in encoded["n"]]
    assert classes.count("sympy.core.add:Add") == 1 and classes.count("s") == 1  # the sum and x: once each
    first, second, third = codec.decode(json.loads(json.dumps(encoded)))
    assert first.args[0] is second.args[0] is third and third == shared  # shared again once decoded


def test_a_corrupt_or_unencodable_derivation_is_derived_again(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.VARIABLE, str(tmp_path))
    kind, structure, derivation = derivation_of(ROOT / "problems/relu-networks/s1-one-hidden-unit.yaml")
    derive, calls = counting(derivation)
    codec.remembered(kind.name, structure, derive)
    (entry,) = (tmp_path / codec.SHELF).rglob("*.json")
    record = json.loads(entry.read_text())
    payload = record["payload"].replace("sympy.core.mul:Mul", "os:system")
    entry.write_text(json.dumps({"key": record["key"], "sha256": cache._digest(payload), "payload": payload}))
    assert codec.remembered(kind.name, structure, derive) is derivation and len(calls) == 2

    odd = replace(derivation, sections=[replace(derivation.sections[0], facts={"f": lambda: 1})])
    derive, calls = counting(odd)
    with pytest.raises(codec.Unencodable):
        codec.encode(odd)
    assert codec.remembered("unencodable", structure, derive) is odd
    assert codec.remembered("unencodable", structure, derive) is odd and len(calls) == 2
