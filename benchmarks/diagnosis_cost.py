"""What diagnosis costs: variant search runs only after a disagreement, so a clean audit pays nothing.

Times the audit of a clean loss and of a defective one (a sigmoid before cross-entropy) with the default
budget, and the time the defective audit spent in explain_mismatch (variant search and confirmation); then the
same for the parameter maps (losscheck/diagnosis/maps.py): a correct Tversky (clean: no search), one whose
documented roles are a map (found), and its broken twin (every map tried, none explains it).

    python benchmarks/diagnosis_cost.py
"""
import time
from unittest import mock

from losscheck import audit
from losscheck.diagnosis import explain as diagnose


def timed(target, as_):
    spent = [0.0, 0]
    original = diagnose.explain_mismatch

    def wrapper(ctx, v):
        t0 = time.perf_counter()
        try:
            return original(ctx, v)
        finally:
            spent[0] += time.perf_counter() - t0
            spent[1] += 1

    with mock.patch.object(diagnose, "explain_mismatch", wrapper):
        t0 = time.perf_counter()
        audit(target, as_=as_, isolate=False)
        total = time.perf_counter() - t0
    return total, spent


def main():
    for target, as_ in (("torch.nn.CrossEntropyLoss", None),
                        ("losscheck.examples.mistakes:SigmoidThenCrossEntropy", "cross_entropy"),
                        ("losscheck.examples.segmentation:CorrectTversky", "tversky"),
                        ("losscheck.examples.segmentation:DocumentedRolesTversky", "tversky"),
                        ("losscheck.examples.segmentation:DocumentedRolesTverskyWrongFN", "tversky")):
        total, (diag, calls) = timed(target, as_)
        print(f"{target}: audit {total:.2f} s; variant search ran {calls} time(s), {diag:.2f} s")


if __name__ == "__main__":
    main()
