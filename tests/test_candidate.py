"""Target resolution (losscheck.suspect.candidate) and parameter binding (losscheck.judge.binding), in process.

Every target spelling, the three kinds of candidate, `--init`, import failures (each one line, never a
traceback), the torch built-in -> catalogue id map, and the aliases binding maps onto reference names.
Temporary loss modules are written under tmp_path and imported through monkeypatch.syspath_prepend.
"""
from __future__ import annotations

import importlib
import itertools
import sys
import textwrap

import pytest

from losscheck.judge.binding import bind
from losscheck.suspect.candidate import Candidate, builtin_id, resolve
from losscheck.errors import UsageError
from losscheck.specs import SPECS, TORCH_BUILTINS

LOSSES = '''
import torch


class MyLoss(torch.nn.Module):
    def __init__(self, gamma=2.0, reduction="mean"):
        super().__init__()
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, input, target):
        return ((input - target) ** 2).mean() * self.gamma


def my_loss(input, target, gamma=2.0, reduction="mean"):
    return ((input - target) ** 2).mean() * gamma


my_instance = MyLoss(gamma=3.0)
'''

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch):
    """resolve() may put the cwd or a file's folder on sys.path; undo it after every test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def make_module(tmp_path, monkeypatch):
    """Write `source` as a fresh importable module under tmp_path (a unique name per call); return the name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created = []

    def make(source: str, name: str | None = None) -> str:
        name = name or f"lc_cand_mod_{next(_counter)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        created.append(name)
        return name

    yield make
    for name in created:
        sys.modules.pop(name, None)


@pytest.fixture
def make_file(tmp_path):
    """Write `source` as tmp_path/<name>.py (not on sys.path); return its path."""
    def make(source: str, name: str = "losses"):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return make


def usage_error(target, init=None, n_tensors=2) -> str:
    """The message of the UsageError that resolving (and preparing) `target` raises; it must be one line."""
    with pytest.raises(UsageError) as info:
        resolve(target, init).prepare(n_tensors)
    message = str(info.value)
    assert message.strip(), "a UsageError needs a message"
    assert "\n" not in message, f"a UsageError message must be one line, got {message!r}"
    assert "Traceback" not in message
    return message


# -- target spellings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["{mod}:MyLoss", "{mod}.MyLoss"])
def test_module_spellings_resolve_a_class(make_module, spelling):
    mod = make_module(LOSSES)
    cand = resolve(spelling.format(mod=mod))
    assert cand.kind == "class"
    assert cand.name == "MyLoss"
    assert cand.obj is sys.modules[mod].MyLoss
    assert cand.import_lines == f"from {mod} import MyLoss"


def test_dotted_spelling_of_a_torch_builtin():
    import torch

    assert resolve("torch.nn.MSELoss").obj is torch.nn.MSELoss
    assert resolve("torch.nn:MSELoss").obj is torch.nn.MSELoss
    assert resolve("torch.nn.functional.mse_loss").obj is torch.nn.functional.mse_loss
    assert resolve("torch.nn.functional:mse_loss").obj is torch.nn.functional.mse_loss


def test_file_colon_name(make_file):
    import torch

    path = make_file(LOSSES)
    cand = resolve(f"{path}:my_loss")
    assert cand.kind == "function"
    assert cand.name == "my_loss"
    assert cand.obj(torch.zeros(2), torch.ones(2)).item() == pytest.approx(2.0)
    assert str(path.resolve()) in cand.import_lines  # the reproducer can load the file again


def test_relative_file_path_from_the_cwd(make_file, tmp_path, monkeypatch):
    make_file(LOSSES, name="rel_losses")
    monkeypatch.chdir(tmp_path)
    assert resolve("rel_losses.py:MyLoss").kind == "class"


def test_file_alone_with_one_callable(make_file):
    path = make_file('''
        import torch
        from torch.nn import MSELoss  # imported names are not candidates
        from torch.nn.functional import mse_loss

        SCALE = 2.0


        def _helper(x):  # private names are not candidates
            return x


        class OnlyLoss(torch.nn.Module):
            def forward(self, input, target):
                return _helper(((input - target) ** 2).mean() * SCALE)
    ''', name="single")
    cand = resolve(str(path))
    assert cand.name == "OnlyLoss"
    assert cand.kind == "class"


def test_file_alone_with_several_callables_names_them(make_file):
    path = make_file(LOSSES)
    message = usage_error(str(path))
    for name in ("MyLoss", "my_loss", "my_instance"):
        assert name in message
    assert ":Name" in message  # says how to pick one


def test_file_alone_with_no_callable(make_file):
    path = make_file("X = 1\n", name="empty")
    assert "0 candidates" in usage_error(str(path))


@pytest.mark.parametrize("target, words", [
    ("lc_no_such_module_xyz:Loss", ["lc_no_such_module_xyz"]),
    ("lc_no_such_module_xyz.Loss", ["lc_no_such_module_xyz"]),
    ("lc_no_such_pkg_xyz.sub.Loss", ["lc_no_such_pkg_xyz"]),
    ("torch.nn:NoSuchLoss", ["NoSuchLoss"]),
    ("torch.nn.NoSuchLoss", ["NoSuchLoss"]),
    ("no_such_dir/no_such_file.py:Loss", ["no such file"]),
    ("MSELoss", ["pkg.mod:Name"]),          # no module at all
    (":MSELoss", ["pkg.mod:Name"]),
    ("torch.nn:", ["pkg.mod:Name"]),
])
def test_unusable_targets(target, words):
    message = usage_error(target)
    for word in words:
        assert word in message


def test_not_callable_attribute(make_module):
    mod = make_module("VALUE = 3\n")
    assert "not a loss" in usage_error(f"{mod}:VALUE")


# -- kinds and --init --------------------------------------------------------------------------------------

def test_kinds(make_module):
    mod = make_module(LOSSES)
    assert resolve(f"{mod}:MyLoss").kind == "class"
    assert resolve(f"{mod}:my_loss").kind == "function"
    assert resolve(f"{mod}:my_instance").kind == "instance"


def test_class_defaults_and_init_override(make_module):
    mod = make_module(LOSSES)
    cand = resolve(f"{mod}:MyLoss")
    cand.prepare(2)
    assert cand.parameters == {"gamma": 2.0, "reduction": "mean"}
    assert cand.make().gamma == 2.0

    cand = resolve(f"{mod}:MyLoss", {"gamma": 5.0})
    cand.prepare(2)
    assert cand.make().gamma == 5.0
    assert cand.make().reduction == "mean"
    assert cand.make({"reduction": "sum"}).gamma == 5.0  # a configuration keeps --init
    assert cand.make({"gamma": 1.0}).gamma == 1.0         # ...unless it sets the same parameter
    assert cand.construction({"reduction": "sum"}) == "loss_fn = MyLoss(gamma=5.0, reduction='sum')"


def test_function_parameters_skip_the_tensor_arguments_and_init_becomes_keywords(make_module):
    import torch

    mod = make_module(LOSSES)
    cand = resolve(f"{mod}:my_loss", {"gamma": 4.0})
    cand.prepare(2)
    assert cand.parameters == {"gamma": 2.0, "reduction": "mean"}
    assert cand.make()(torch.zeros(3), torch.ones(3)).item() == pytest.approx(4.0)


def test_instance_takes_no_parameters(make_module):
    mod = make_module(LOSSES)
    cand = resolve(f"{mod}:my_instance")
    cand.prepare(2)
    assert cand.parameters == {}
    assert cand.make() is sys.modules[mod].my_instance
    assert cand.attribute("gamma") == 3.0


def test_unknown_init_key_for_a_class(make_module):
    mod = make_module(LOSSES)
    message = usage_error(f"{mod}:MyLoss", {"gamma": 1.0, "bogus": 1})
    assert "bogus" in message
    assert "gamma" in message and "reduction" in message  # lists what it takes


def test_init_key_accepted_by_a_class_with_kwargs(make_module):
    mod = make_module('''
        class Loose:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

            def __call__(self, input, target):
                return (input - target).abs().mean()
    ''')
    cand = resolve(f"{mod}:Loose", {"anything": 1})
    cand.prepare(2)
    assert cand.make().kwargs == {"anything": 1}


def test_deprecated_torch_arguments_are_not_parameters():
    cand = resolve("torch.nn.MSELoss")
    cand.prepare(2)
    assert cand.parameters == {"reduction": "mean"}
    assert "reduce" in usage_error("torch.nn.MSELoss", {"reduce": False})


def test_unknown_init_key_for_a_function(make_module):
    """A function without **kwargs cannot take an unknown --init key: that is a usage error (exit 2), not
    an audit in which every call raises TypeError."""
    mod = make_module(LOSSES)
    assert "bogus" in usage_error(f"{mod}:my_loss", {"bogus": 1})


def test_init_for_a_module_level_instance_is_refused(make_module):
    """An instance is called as it is, so --init cannot configure it: refusing is the only honest answer
    (otherwise the report's parameters claim settings that the audited object never had)."""
    mod = make_module(LOSSES)
    assert "init" in usage_error(f"{mod}:my_instance", {"gamma": 5.0})


UNINSTANTIABLE = {
    "required_argument": """
        class Loss:
            def __init__(self, weight):
                self.weight = weight

            def __call__(self, input, target):
                return ((input - target) ** 2).mean()
    """,
    "init_raises": """
        class Loss:
            def __init__(self, gamma=2.0):
                raise RuntimeError("no GPU found")

            def __call__(self, input, target):
                return ((input - target) ** 2).mean()
    """,
    "init_raises_multiline": """
        class Loss:
            def __init__(self, gamma=2.0):
                raise RuntimeError("no GPU found\\nsecond line of the message")

            def __call__(self, input, target):
                return ((input - target) ** 2).mean()
    """,
    "init_exits": """
        class Loss:
            def __init__(self):
                raise SystemExit(3)

            def __call__(self, input, target):
                return ((input - target) ** 2).mean()
    """,
}


@pytest.mark.parametrize("case", sorted(UNINSTANTIABLE))
def test_class_that_cannot_be_instantiated(make_module, case):
    mod = make_module(UNINSTANTIABLE[case])
    message = usage_error(f"{mod}:Loss")
    assert "instantiate" in message and "--init" in message


def test_init_makes_an_uninstantiable_class_usable(make_module):
    mod = make_module('''
        class NeedsWeight:
            def __init__(self, weight):
                self.weight = weight

            def __call__(self, input, target):
                return ((input - target) ** 2).mean() * self.weight
    ''')
    cand = resolve(f"{mod}:NeedsWeight", {"weight": 2.0})
    cand.prepare(2)
    assert cand.make().weight == 2.0


# -- import failures ---------------------------------------------------------------------------------------

IMPORT_FAILURES = {
    "raises": 'raise RuntimeError("cannot load the weights")\n',
    "raises_multiline": 'raise RuntimeError("first line\\nsecond line\\nthird line")\n',
    "exits": "import sys\nsys.exit(0)\n",
    "exits_with_message": 'import sys\nsys.exit("goodbye")\n',
    "syntax_error": "def broken(:\n    pass\n",
    "missing_dependency": "import lc_dependency_that_does_not_exist\n",
    "keyboard_interrupt": "raise KeyboardInterrupt\n",
}


@pytest.mark.parametrize("spelling", ["{mod}:Loss", "{mod}.Loss", "{path}:Loss"])
@pytest.mark.parametrize("failure", sorted(IMPORT_FAILURES))
def test_import_failures_are_one_line_usage_errors(make_module, tmp_path, failure, spelling):
    mod = make_module(IMPORT_FAILURES[failure])
    message = usage_error(spelling.format(mod=mod, path=tmp_path / f"{mod}.py"))
    if failure == "missing_dependency":
        assert "lc_dependency_that_does_not_exist" in message


@pytest.mark.parametrize("failure", ["raises", "exits_with_message"])
def test_import_failure_inside_a_package_keeps_the_real_error(make_module, tmp_path, failure):
    """`pkg.mod.Name` where pkg.mod raises at import must say so, not that pkg has no attribute."""
    pkg = tmp_path / "lc_cand_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "broken.py").write_text(IMPORT_FAILURES[failure])
    make_module("")  # puts tmp_path on sys.path
    try:
        for target in ("lc_cand_pkg.broken:Loss", "lc_cand_pkg.broken.Loss"):
            message = usage_error(target)
            assert "importing 'lc_cand_pkg.broken' failed" in message, (target, message)
    finally:
        for name in ("lc_cand_pkg", "lc_cand_pkg.broken"):
            sys.modules.pop(name, None)


# -- torch built-ins ---------------------------------------------------------------------------------------

def _torch_object(name):
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def test_torch_builtins_cover_every_spec_that_names_one():
    assert TORCH_BUILTINS, "no torch built-ins registered"
    for name, loss_id in TORCH_BUILTINS.items():
        assert loss_id in SPECS
        assert name in SPECS[loss_id].torch


@pytest.mark.parametrize("name, loss_id", sorted(TORCH_BUILTINS.items()))
def test_builtin_id_for_every_torch_builtin(name, loss_id):
    obj = _torch_object(name)
    assert builtin_id(obj) == loss_id
    cand = resolve(name)
    assert cand.obj is obj
    assert builtin_id(cand.obj) == loss_id
    if isinstance(obj, type):
        assert cand.kind == "class"
        assert builtin_id(obj()) == loss_id  # an instance maps like its class
    else:
        assert cand.kind == "function"


def test_builtin_id_for_a_module_level_torch_instance(make_module):
    mod = make_module("import torch\nloss = torch.nn.CrossEntropyLoss(label_smoothing=0.1)\n")
    cand = resolve(f"{mod}:loss")
    assert cand.kind == "instance"
    assert builtin_id(cand.obj) == "cross_entropy"


def test_builtin_id_is_none_for_everything_else(make_module):
    import torch

    mod = make_module(LOSSES + "\n\nclass SubMSE(torch.nn.MSELoss):\n    pass\n")
    module = sys.modules.get(mod) or importlib.import_module(mod)
    for obj in (module.MyLoss, module.my_loss, module.my_instance, module.SubMSE, module.SubMSE(),
                torch.nn.functional.relu, torch.nn.Linear, len):
        assert builtin_id(obj) is None, obj


# -- binding -----------------------------------------------------------------------------------------------

def _bound(make_module, source, name, loss_id, init=None):
    mod = make_module(source)
    spec = SPECS[loss_id]
    cand = resolve(f"{mod}:{name}", init)
    cand.prepare(len(spec.signature))
    return bind(spec, cand)


INFO_NCE = '''
    import torch
    import torch.nn.functional as F


    class NTXent(torch.nn.Module):
        def __init__(self, tau=0.1, projection_dim=128, reduction="mean"):
            super().__init__()
            self.tau = tau
            self.reduction = reduction

        def forward(self, z_i, z_j):
            return F.cosine_similarity(z_i, z_j).mean() / self.tau


    def nt_xent(z_i, z_j, tau=0.2, reduction="mean"):
        return F.cosine_similarity(z_i, z_j).mean() / tau
'''


def test_tau_binds_to_info_nce_temperature(make_module):
    b = _bound(make_module, INFO_NCE, "NTXent", "info_nce")
    assert b.names["temperature"] == "tau"
    assert b.names["reduction"] == "reduction"
    assert b.defaults["temperature"] == 0.1  # the candidate's own default wins over the reference's 0.5
    assert "temperature" in b.explorable and "reduction" in b.explorable
    assert b.unmapped == ["projection_dim"]  # a parameter the reference lacks
    described = b.describe()
    assert described["bound"]["temperature"] == "tau"
    assert described["unmapped"] == ["projection_dim"]


def test_tau_binds_for_a_function_too(make_module):
    b = _bound(make_module, INFO_NCE, "nt_xent", "info_nce")
    assert b.names == {"temperature": "tau", "reduction": "reduction"}
    assert b.defaults["temperature"] == 0.2
    assert b.unmapped == []


def test_eps_binds_to_dice_smooth(make_module):
    source = '''
        import torch


        class SoftDice(torch.nn.Module):
            def __init__(self, eps=1e-6, squared=False):
                super().__init__()
                self.eps = eps

            def forward(self, input, target):
                p = input.sigmoid()
                return 1 - (2 * (p * target).sum() + self.eps) / (p.sum() + target.sum() + self.eps)
    '''
    b = _bound(make_module, source, "SoftDice", "dice")
    assert b.names == {"smooth": "eps"}
    assert b.defaults["smooth"] == 1e-6
    assert "smooth" in b.explorable
    assert "reduction" not in b.names and b.defaults["reduction"] == "mean"  # not taken: reference default
    assert b.unmapped == ["squared"]


def test_init_fixes_a_parameter(make_module):
    source = '''
        class SoftDice:
            def __init__(self, eps=1e-6):
                self.eps = eps

            def __call__(self, input, target):
                return (input - target).abs().mean()
    '''
    b = _bound(make_module, source, "SoftDice", "dice", init={"eps": 0.5})
    assert b.names == {"smooth": "eps"}
    assert b.defaults["smooth"] == 0.5
    assert "smooth" not in b.explorable  # fixed by --init, so not varied
    assert b.describe()["fixed_by_init"] == ["eps"]


def test_attribute_of_a_default_instance_gives_the_default(make_module):
    source = '''
        class Configured:
            def __init__(self, **kwargs):
                self.temperature = 0.07

            def __call__(self, z_i, z_j):
                return (z_i - z_j).abs().mean()
    '''
    b = _bound(make_module, source, "Configured", "info_nce")
    assert "temperature" not in b.names  # not a constructor parameter: cannot be explored
    assert b.defaults["temperature"] == 0.07
    assert b.explorable == []


def test_unrelated_parameters_land_in_unmapped(make_module):
    source = '''
        def focal(input, target, gamma=2.0, alpha=0.25, reduction="mean", label_noise=0.0, verbose=False):
            return (input - target).abs().mean()
    '''
    b = _bound(make_module, source, "focal", "focal")
    assert b.names == {"alpha": "alpha", "gamma": "gamma", "reduction": "reduction"}
    assert b.unmapped == ["label_noise", "verbose"]


def test_torch_builtin_binding_ignores_deprecated_arguments():
    spec = SPECS["mse"]
    cand = resolve("torch.nn.MSELoss")
    cand.prepare(len(spec.signature))
    b = bind(spec, cand)
    assert b.names == {"reduction": "reduction"}
    assert b.unmapped == []


def test_candidate_is_a_dataclass_with_the_documented_kinds(make_module):
    mod = make_module(LOSSES)
    for name, kind in (("MyLoss", "class"), ("my_loss", "function"), ("my_instance", "instance")):
        cand = resolve(f"{mod}:{name}")
        assert isinstance(cand, Candidate)
        assert cand.kind == kind
        assert cand.target == f"{mod}:{name}"


def test_scripted_functions_and_partials_are_functions():
    import torch
    from fixtures import callables

    scripted = resolve("fixtures.callables:scripted_mse", {"reduction": "sum"})
    assert scripted.kind == "function"
    scripted.prepare(2)
    assert scripted.parameters == {"reduction": "none"}
    assert resolve("fixtures.callables:huber_delta_2").kind == "function"
    assert callables.scripted_mse(torch.ones(2), torch.zeros(2), reduction="mean").item() == 1.0


@pytest.mark.parametrize("target, init", [("fixtures.callables:scripted_mse", None),
                                          ("fixtures.callables:scripted_mse", {"reduction": "mean"})])
def test_a_scripted_function_audits_clean_with_or_without_init(target, init):
    from losscheck import audit

    result = audit(target, as_="mse", init=init, max_examples=5)
    assert result.exit_code() == 0, [(f.code, f.message) for f in result.findings]
    assert "LC704" not in {f.code for f in result.findings}


def test_a_scripted_twin_that_halves_is_caught():
    from losscheck import audit

    result = audit("fixtures.callables:scripted_halved_mse", as_="mse", max_examples=5)
    assert {"LC101", "LC102"} & {f.code for f in result.findings}


def test_a_partial_audits_with_its_bound_parameter():
    from losscheck import audit

    result = audit("fixtures.callables:huber_delta_2", as_="huber", max_examples=5)
    assert result.exit_code() == 0, [(f.code, f.message) for f in result.findings]
    assert result.parameters["defaults"].get("delta") == 2.0
