"""Diagnosis: naming the mistake, or the convention, behind a value disagreement.

    variants      known mistakes of a loss (Variant): the loss as the mistake computes it, and its fix
    conventions   legitimate differences between libraries (Convention and its Options), declared or detected
    maps          parameter maps (a parameter renamed, swapped, a multiple, a complement, a default tied to another),
                  declared as the convention `params` or found by fitting the reference's parameters
    explain       the search: which variant or product of conventions explains the candidate's values
    explored      a finding seen only at a parameter value the user did not set: a warning naming both values
    sweep         the loss and gradient along a line through a finding's example (the HTML report's plots)
    grouping      the findings one cause explains, under one headline (every report; recorded in the JSON)
    operations    the class of operation at fault in an inf/nan or capped loss, read from the worker's trace, one
                  name for its stability (float32) and precision (bf16/fp16) findings

It runs only on a disagreement, so a clean audit pays nothing for it (benchmarks/diagnosis_cost.py).
"""
