"""losscheck.suspect.recipe: how a reproducer gets the candidate in a fresh interpreter. An instance passed directly
is rebuilt from the constructor arguments its attributes give back, only when the twin equals it; a module that is
not installed gets its import root on sys.path; a class or function that cannot be imported by name, or an
instance that cannot be rebuilt, makes the reproducer exit non-zero with one line rather than compute another
object's loss. (Running the scripts is tests/test_reproducers.py's.)"""
from __future__ import annotations

import importlib
import sys

import pytest
import torch

from losscheck.suspect import recipe
from losscheck.suspect.candidate import resolve, wrap

LOSSES = '''\
import torch


class Focal(torch.nn.Module):
    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction


class Doubled(torch.nn.Module):
    """Keeps 2 * gamma: the argument cannot be read back."""

    def __init__(self, gamma=2.0):
        super().__init__()
        self.g = 2 * gamma


class Weighted(torch.nn.Module):
    def __init__(self, weight, eps=1e-6):
        super().__init__()
        self.register_buffer("weight", weight)
        self._eps = eps


class Learned(torch.nn.Module):
    """A parameter drawn at random: an equal twin cannot be built from the arguments."""

    def __init__(self, n=3):
        super().__init__()
        self.n = n
        self.scale = torch.nn.Parameter(torch.randn(n))


def dice(input, target, smooth=1.0):
    return 1 - (2 * (input * target).sum() + smooth) / (input.sum() + target.sum() + smooth)


def make():
    class Local(torch.nn.Module):
        pass
    return Local
'''


@pytest.fixture
def losses(tmp_path, monkeypatch):
    """A package `recipe_<test>.losses` in tmp_path/project, importable in this process only."""
    package = f"recipe_{tmp_path.name}".replace("-", "_")
    root = tmp_path / "project"
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "losses.py").write_text(LOSSES)
    monkeypatch.syspath_prepend(str(root))
    module = importlib.import_module(f"{package}.losses")
    yield module
    for name in [n for n in sys.modules if n.startswith(package)]:
        del sys.modules[name]


def test_instance_rebuilt_from_its_attributes(losses):
    assert recipe.constructor_call(losses.Focal(gamma=0.5)) == "Focal(gamma=0.5)"
    assert recipe.constructor_call(losses.Focal()) == "Focal()"
    source = recipe.constructor_call(losses.Weighted(torch.tensor([1.0, 2.0]), eps=0.1))
    assert source == "Weighted(weight=torch.tensor([1.0, 2.0], dtype=torch.float32), eps=0.1)"
    twin = eval(source, {"torch": torch, "Weighted": losses.Weighted})
    assert torch.equal(twin.weight, torch.tensor([1.0, 2.0])) and twin._eps == 0.1


@pytest.mark.parametrize("build", [lambda m: m.Doubled(gamma=0.5), lambda m: m.Learned()],
                         ids=["transformed attribute", "random parameter"])
def test_instance_whose_twin_differs_has_no_recipe(losses, build):
    assert recipe.constructor_call(build(losses)) is None


def test_import_root_of_a_module_that_is_not_installed(losses, tmp_path):
    assert recipe.search_path(losses) == [str((tmp_path / "project").resolve())]
    assert recipe.import_lines_of(losses.Focal) == (f"from {losses.__name__} import Focal",
                                                    recipe.search_path(losses))


@pytest.mark.parametrize("module", ["torch.nn.functional", "losscheck.findings", "json"])
def test_installed_modules_need_no_search_path(module):
    """Site-packages, an editable install (losscheck here) and the standard library import anywhere."""
    assert recipe.search_path(importlib.import_module(module)) == []


def test_wrapped_instance_builds_loss_fn(losses):
    candidate = wrap(losses.Focal(gamma=0.5))
    assert candidate.kind == "instance"
    assert candidate.import_lines == f"from {losses.__name__} import Focal"
    assert candidate.search_path == recipe.search_path(losses)
    assert candidate.construction({}) == "loss_fn = Focal(gamma=0.5)"


@pytest.mark.parametrize("build", [lambda m: m.Doubled(gamma=0.5), lambda m: m.make()(), lambda m: m.make()],
                         ids=["unreadable arguments", "instance of a local class", "local class"])
def test_what_cannot_be_rebuilt_exits_saying_how(losses, build):
    construction = wrap(build(losses)).construction({})
    assert construction.startswith('raise SystemExit("losscheck cannot rebuild the ')
    assert "replace this line with `loss_fn = ...`" in construction and "\n" not in construction


def test_function_with_arguments_needs_no_functools(losses):
    candidate = wrap(losses.dice, init={"smooth": 0.5})
    construction = candidate.construction({})
    assert "functools" not in construction
    namespace = {"dice": losses.dice}
    exec(construction, namespace)
    x = torch.tensor([0.2, 0.7])
    assert namespace["loss_fn"](x, x) == losses.dice(x, x, smooth=0.5)


def test_literal_of_non_finite_and_nested_values():
    assert recipe.literal([1.0, float("nan"), (2, "a")]) == "[1.0, float('nan'), (2, 'a')]"
    assert recipe.literal({"k": float("-inf")}) == "{'k': float('-inf')}"
    assert recipe.literal(object()) is None


def test_module_targets_carry_their_search_path(losses):
    """resolve() of a `pkg.mod:Name` target: the reproducer imports it by name, its root first on sys.path."""
    candidate = resolve(f"{losses.__name__}:Focal")
    assert candidate.search_path == recipe.search_path(losses)
    assert candidate.construction({}) == "loss_fn = Focal()"


def test_file_targets_carry_the_roots_of_their_own_imports(losses, tmp_path):
    """A file that imports a package of its project: its folder and that package's root go on sys.path."""
    package = losses.__name__.partition(".")[0]
    for name in (losses.__name__, package):  # imported afresh by the file, as in a new audit
        del sys.modules[name]
    script = tmp_path / "scripts" / "train_loss.py"
    script.parent.mkdir()
    script.write_text(f"from {losses.__name__} import Focal\n")
    candidate = resolve(f"{script}:Focal")
    assert candidate.search_path == [str(script.parent.resolve()), str((tmp_path / "project").resolve())]
