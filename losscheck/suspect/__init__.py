"""The suspect's side: everything that touches candidate code.

    candidate.Candidate     a target string resolved to a callable, its signature and constructor parameters
    calls.Caller            a call under a time limit, every exception caught, warnings recorded
    protocol                the judge-suspect protocol, declared once: the op table, requests, replies, hang flag
    ops/                    candidate ops that run it in a special mode (fake CUDA): one module per op
    supervisor.Worker       the judge's handle on the worker process: fork, deadlines, how it died, kill
    keeper                  the worker's parent, between it and the judge: what the candidate signals is the suspect's
    remote.RemoteCandidate  the candidate as the judge sees it: a Candidate whose code lives in the worker
    worker                  inside the worker process: serves the protocol's ops, one at a time
    wire                    the plain data tensors and values travel as (nothing the candidate returns runs code)
    lifeline                processes that die with the audit
    recipe                  how a reproducer gets the candidate: its import roots, an instance passed directly rebuilt

The judge imports remote and calls, never candidate code; under --no-isolation the same Candidate runs in the
judge's process (for a debugger), trusted.
"""
