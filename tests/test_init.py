"""`losscheck init PACKAGE`: discovery of a package's losses, the id guesses, the starter TOML (parsed by tomllib
and by losscheck.gate.config), --write (append, create, refuse) and one-line usage errors."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap

import pytest

from losscheck.commands.init import discovery, toml
from losscheck.tables import guessing
from losscheck.suspect.candidate import resolve
from losscheck.cli import main
from losscheck.gate.config import from_table, load, tomllib
from losscheck.specs import SPECS

_counter = itertools.count()

PACKAGE = {
    "__init__.py": """
        from .losses import FocalLoss  # a re-export: listed once, where it is defined
        print("hello from the package")  # must not end up in the TOML
    """,
    "losses.py": """
        import torch
        from torch import nn

        class FocalLoss(nn.Module):
            def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
                super().__init__()
            def forward(self, logits, target):
                return logits.sum()

        class DiceLoss(nn.Module):
            def forward(self, input, target, mask: torch.Tensor = None):
                return input.sum()

        class Encoder(nn.Module):  # not a loss
            def forward(self, x):
                return x

        class _HelperLoss(nn.Module):  # private
            pass

        def weird_loss(a, b):
            return a

        def _private_loss(a, b):
            return a

        def helper(a):
            return a
    """,
    "broken.py": """
        raise RuntimeError("boom\\nat import")
    """,
    "__main__.py": """
        raise SystemExit("a __main__ module must never be imported")
    """,
    "sub/__init__.py": "",
    "sub/metric.py": """
        from torch import nn

        class TripletLoss(nn.Module):
            def forward(self, anchor, positive, negative):
                return anchor

        class MyCE(nn.CrossEntropyLoss):  # any subclass of a torch loss
            pass
    """,
}
EXPECTED = {"losses:FocalLoss": "focal", "losses:DiceLoss": "dice", "sub.metric:TripletLoss": "triplet_margin",
            "sub.metric:MyCE": "cross_entropy"}


def _write_package(root, name, files):
    for rel, text in files.items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def make_package(tmp_path, monkeypatch):
    """Writes a package with a unique name on sys.path; its modules are dropped from sys.modules afterwards."""
    names = []
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    def make(files):
        name = f"lc_init_demo_{next(_counter)}"
        _write_package(tmp_path / "site", name, files)
        names.append(name)
        return name

    yield make
    for mod in [m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in names)]:
        del sys.modules[mod]


@pytest.fixture
def package(make_package):
    return make_package(PACKAGE)


def _run(capsys, *argv):
    rc = main(["init", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_prints_a_section_that_tomllib_and_the_config_load(package, capsys):
    rc, out, err = _run(capsys, package)
    assert rc == 0, err
    table = tomllib.loads(out)["tool"]["losscheck"]
    cfg = from_table(table)
    assert {loss.target: loss.as_ for loss in cfg.losses} == {f"{package}.{k}": v for k, v in EXPECTED.items()}
    for loss in cfg.losses:  # every target is one the audit resolves
        assert resolve(loss.target).name == loss.target.rpartition(":")[2]
    lines = out.splitlines()
    for line in lines:
        if line.startswith("as = "):
            assert "  # guessed: confirm" in line
    assert f'# target = "{package}.losses:weird_loss"' in lines
    weird = lines.index(f'# target = "{package}.losses:weird_loss"')
    assert lines[weird - 1] == "# [[tool.losscheck.loss]]" and "# no guess: set as =" in lines[weird + 1]
    assert "(subclasses torch.nn.CrossEntropyLoss)" in out and "(else focal_multiclass)" in out
    for absent in ("Encoder", "_HelperLoss", "_private_loss", "helper", "hello from the package"):
        assert absent not in out
    assert out.count(":FocalLoss") == 1
    # what the package prints at import goes to stderr, with one line per submodule that failed to import
    assert err.splitlines() == ["hello from the package",
                                f"losscheck: skipped {package}.broken (import failed: RuntimeError: boom at import)"]


def test_a_module_alone(package, capsys):
    rc, out, err = _run(capsys, f"{package}.sub.metric")
    assert rc == 0 and err == "hello from the package\n"
    assert [loss.target for loss in from_table(tomllib.loads(out)["tool"]["losscheck"]).losses] == [
        f"{package}.sub.metric:TripletLoss", f"{package}.sub.metric:MyCE"]


def test_write_appends_then_refuses(package, capsys, tmp_path):
    path = tmp_path / "pyproject.toml"
    original = '[project]\nname = "demo"\n\n[tool.black]\nline-length = 100'  # no final newline
    path.write_text(original, encoding="utf-8")
    rc, out, err = _run(capsys, package, "--write", "--pyproject", str(path))
    assert rc == 0, err
    assert out.startswith(f"appended [tool.losscheck] with 5 losses to {path}")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original + "\n\n# Starter configuration")
    data = tomllib.loads(text)
    assert data["project"]["name"] == "demo" and data["tool"]["black"] == {"line-length": 100}
    cfg = load(path)
    assert cfg.present and {loss.as_ for loss in cfg.losses} == set(EXPECTED.values())

    rc, out, err = _run(capsys, package, "--write", "--pyproject", str(path))
    assert rc == 2 and out == ""
    assert len(err.splitlines()) == 1 and "already has a [tool.losscheck] table" in err
    assert path.read_text(encoding="utf-8") == text


def test_write_creates_the_default_pyproject(package, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = _run(capsys, package, "--write")
    assert rc == 0, err
    assert len(load(tmp_path / "pyproject.toml").losses) == 4
    assert _run(capsys, package, "--write")[0] == 2


def test_write_refuses_a_broken_pyproject(package, capsys, tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[project\n", encoding="utf-8")
    rc, _, err = _run(capsys, package, "--write", "--pyproject", str(path))
    assert rc == 2 and len(err.splitlines()) == 1 and "is not valid TOML" in err
    assert path.read_text(encoding="utf-8") == "[project\n"


def test_unknown_package_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "losscheck", "init", "no_such_package_for_losscheck"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "losscheck: error: cannot import module 'no_such_package_for_losscheck': no module named "
        "'no_such_package_for_losscheck'"]


@pytest.mark.parametrize("argv, message", [
    (["src/mypkg"], "not an importable package or module name"),
    (["json", "--pyproject", "x.toml"], "add --write"),
    ([], "the following arguments are required: package"),
])
def test_usage_errors_are_one_line(capsys, argv, message):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and message in err


def test_a_package_without_losses(make_package, capsys):
    name = make_package({"__init__.py": "from torch import nn\nclass Encoder(nn.Module):\n    pass\n"})
    rc, out, err = _run(capsys, name)
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and "no loss found" in err


def test_a_root_that_raises_at_import(make_package, capsys):
    name = make_package({"__init__.py": "raise ImportError('missing optional dependency')\n"})
    rc, _, err = _run(capsys, name)
    assert rc == 2 and err.splitlines() == [
        f"losscheck: error: importing '{name}' failed: ImportError: missing optional dependency"]


def _loss_class(name, args):
    from torch import nn

    namespace = {}
    exec(f"def forward(self, {args}):\n    return None", namespace)
    return type(name, (nn.Module,), {"forward": namespace["forward"]})


@pytest.mark.parametrize("name, args, expected", [
    ("FocalLoss", "logits, target", "focal"),
    ("MultiClassFocalLoss", "logits, target", "focal_multiclass"),
    ("DiceLoss", "input, target", "dice"),
    ("SoftDiceLoss", "input, target", "dice"),
    ("GeneralizedDiceLoss", "input, target", "generalized_dice"),
    ("TverskyLoss", "input, target", "tversky"),
    ("ContrastiveLoss", "x1, x2, label", "contrastive"),
    ("ContrastiveLoss", "z1, z2", "info_nce"),
    ("InfoNCE", "query, key", "info_nce"),
    ("NTXentLoss", "z_i, z_j", "info_nce"),
    ("TripletLoss", "anchor, positive, negative", "triplet_margin"),
    ("TripletLoss", "embeddings, labels", "triplet_batch_hard"),
    ("BatchHardTripletLoss", "embeddings, labels", "triplet_batch_hard"),
    ("HuberLoss", "input, target", "huber"),
    ("SmoothL1Loss", "input, target", "smooth_l1"),
    ("L1Loss", "input, target", "l1"),
    ("RegressionMSELoss", "pred, y", "mse"),
    ("LabelSmoothingCrossEntropy", "logits, target", "cross_entropy"),
    ("SoftmaxCELoss", "logits, target", "cross_entropy"),
    ("BCEWithLogitsLoss", "logits, target", "bce_with_logits"),
    ("IoULoss", "boxes, target", "iou"),
    ("GIoULoss", "boxes, target", "giou"),
    ("KLDLoss", "mu, logvar", "gaussian_kl"),
    ("KLDivLoss", "log_q, p", "kl_div"),
    ("GANLoss", "fake_logits", "gan_generator"),
    ("CTCLoss", "log_probs, targets, input_lengths, target_lengths", "ctc"),
    ("MyLoss", "anchor, positive, negative", "triplet_margin"),  # by signature alone
    ("MyLoss", "input, target", None),                           # (input, target): too many specs
    ("LovaszHingeLoss", "logits, target", "lovasz_hinge"),       # not a hinge loss
    ("Poly1FocalLoss", "logits, target", None),                  # a loss the catalogue does not have
])
def test_guesses(name, args, expected):
    guess = guessing.guess(name, _loss_class(name, args), "class")
    assert guess.loss_id == expected


def test_functions_and_arity_warnings():
    def focal_loss(input, target, alpha: float, gamma=2.0):  # a required float is a parameter, not a tensor
        return input

    assert guessing.guess("focal_loss", focal_loss, "function") == guessing.Guess(
        "focal", ("focal_multiclass",), why="name")
    guess = guessing.guess("DiceLoss", _loss_class("DiceLoss", "a, b, c"), "class")
    assert guess.loss_id == "dice" and guess.warning == "forward takes 3 tensors, dice takes 2: input, target"
    assert guessing.words("SmoothL1Loss") == ["smooth", "l1", "loss"]
    assert guessing.words("GIoU_loss") == ["g", "io", "u", "loss"]


def test_keyword_table_names_catalogue_ids():
    assert {i for _, ids in guessing.keywords() for i in ids} <= set(SPECS)


def test_render_escapes_and_stays_valid_toml():
    found = [discovery.Found('pkg.we"ird', "A\\Loss", object, "class", guessing.Guess("mse", why="name")),
             discovery.Found("pkg", "b_loss", object, "function", guessing.Guess(None))]
    data = tomllib.loads(toml.init_section("pkg", found))
    assert data["tool"]["losscheck"]["loss"] == [{"target": 'pkg.we"ird:A\\Loss', "as": "mse"}]


@pytest.mark.parametrize("name, kind, expected", [
    ("FocalLoss", "class", True), ("Focalloss", "class", True), ("L2Penalty", "class", True),
    ("L1Regularizer", "class", True), ("InfoNCE", "class", True), ("SymmetricInfoNCE", "class", True),
    ("NTXent", "class", True), ("Generator", "class", False), ("DiceMetric", "class", False),
    ("dice_loss", "function", True), ("l2_penalty", "function", True), ("l1_regularization", "function", True),
    ("diceLoss", "function", False), ("info_nce", "function", False), ("compute_metrics", "function", False),
])
def test_what_init_takes_for_a_loss_by_its_name(name, kind, expected):
    assert discovery.is_loss_name(name, kind) is expected


UNPLACED = {
    "__init__.py": """
        import torch.nn.functional as F
        from torch import nn

        class LabelSmoothingCrossEntropy(nn.Module):  # a loss whose name does not end in Loss
            def forward(self, logits, target):
                return F.cross_entropy(logits, target, label_smoothing=0.1)

        class FocalLossOK(nn.Module):  # "loss" inside the name
            def forward(self, logits, target):
                return logits.sum()

        class Backbone(nn.Module):  # neither: not listed
            def forward(self, x):
                return x

        def dice_coefficient(a, b):  # a function named for a catalogue loss
            return (a * b).sum()

        def helper(a):
            return a
    """,
}


def test_loss_like_names_not_placed_are_listed_with_the_reason(make_package, capsys):
    package = make_package(UNPLACED)
    rc, out, err = _run(capsys, package)
    assert rc == 2 and out == ""  # nothing placed: a usage error that still names what it saw
    assert f"seen but not placed: {package}:LabelSmoothingCrossEntropy" in err and len(err.splitlines()) == 1
    package = make_package({**UNPLACED, "more.py": "from torch import nn\n\nclass DiceLoss(nn.Module):\n"
                                                     "    def forward(self, input, target):\n        return input\n"})
    rc, out, err = _run(capsys, package)
    assert rc == 0, err
    assert [loss.target for loss in from_table(tomllib.loads(out)["tool"]["losscheck"]).losses] == [
        f"{package}.more:DiceLoss"]
    tail = out[out.index("# Seen but not placed (3)"):].splitlines()
    assert tail[1] == (f"#   {package}:LabelSmoothingCrossEntropy: an nn.Module subclass whose name does not end "
                       "in Loss, Penalty or Regularizer (the name suggests cross_entropy)")
    assert tail[2].startswith(f"#   {package}:FocalLossOK: an nn.Module subclass") and "focal" in tail[2]
    assert tail[3] == (f"#   {package}:dice_coefficient: a function whose name does not end in _loss or _penalty "
                       "(the name suggests dice)")
    assert "Backbone" not in out and "helper" not in out


GUESSABLE = '''
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0, alpha=0.25):
        super().__init__()
        self.gamma, self.alpha = gamma, alpha

    def forward(self, input, target):
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        p = input.sigmoid()
        pt = p * target + (1 - p) * (1 - target)
        a = self.alpha * target + (1 - self.alpha) * (1 - target)
        return (a * ce * (1 - pt) ** self.gamma).mean()


class Mystery(nn.Module):
    def forward(self, a, b):
        return (a - b).abs().mean()
'''


def test_audit_without_as_guesses_the_id_as_init_does(tmp_path, capsys):
    path = tmp_path / "mylosses.py"
    path.write_text(GUESSABLE, encoding="utf-8")
    rc = main(["audit", f"{path}:FocalLoss", "--max-examples", "5", "--format", "json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert rc == 0, out
    assert report["parameters"]["loss"] == "focal"
    assert report["parameters"]["id_guessed"] == "guessed by its name (no --as given; confirm with --as focal)"
    rc = main(["audit", f"{path}:FocalLoss", "--max-examples", "5"])
    assert "inputs: id focal guessed by its name" in capsys.readouterr().out
    assert main(["audit", f"{path}:Mystery", "--max-examples", "5"]) == 2
    err = capsys.readouterr().err
    assert "cannot tell which loss" in err and "(neither the name 'Mystery' nor its arguments point to" in err
