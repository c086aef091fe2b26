"""Candidate ops (fake CUDA, autocast, compile): checks that run the candidate in a special mode, wherever it lives
(the worker, or the judge's process under --no-isolation). Each module here has `run(candidate, caller, request) -> reply` for
one request type declared in losscheck.suspect.protocol; `RUNS` maps the request type to it, and
Candidate.perform and the worker both dispatch by it (see the protocol's "Adding an op")."""
from losscheck.suspect import protocol
from losscheck.suspect.ops import autocast, compiled, fake_cuda

RUNS = {protocol.FakeCuda: fake_cuda.run, protocol.Autocast: autocast.run,
        protocol.Compile: compiled.run}
