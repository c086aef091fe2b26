"""device.ddp (`--ddp N`): the candidate under torch.distributed, with the batch sharded across N ranks.

This package is the machinery (ranks, sharding, one rank's step, advice, the reproducer); the check itself is
registered with the others in losscheck/checks/ddp.py.

DistributedDataParallel gives every rank one shard of the global batch; each rank computes the loss on its
shard, and training behaves as if the per-rank losses were averaged (DDP averages the gradients). That is
the global loss only when the loss decomposes over shards: an elementwise or per-sample 'mean' over equal
shards does; a batch Dice, a mean over the targets kept by ignore_index, a class-weighted mean or in-batch
negatives do not. This check measures it on the real thing:

* N local CPU processes (forked from the audit worker where fork exists, spawned otherwise) form a gloo
  process group on 127.0.0.1; rank 0 hosts the TCPStore on a free port (port 0) and the others learn it
  through the audit, so there is no port race. The ranks stay up for the whole check and receive one shard
  per drawn case (hypothesis, seeded with the audit seed).
* Drawn batches are tiled to a multiple of N along each input's batch axis (`LossSpec.batch_axes`),
  then split into N equal shards. Inputs without a batch axis (class weights, ...) are replicated.
* Each rank computes the candidate's loss (float64, the candidate's own reduction) on its shard. For
  'mean' the ranks all-reduce the losses with SUM and divide by the world size, for 'sum' they all-reduce
  the SUM, as DDP users do; each rank back-propagates its loss scaled the same way (1/N for 'mean': the
  gradient averaging of DDP), and the input gradients are gathered. With reduction='none' the per-rank
  outputs are concatenated. The audit compares both with the single-process loss and input gradient on the
  full batch (float64 tolerance; float32 when the candidate computes in float32).
* A mismatch is LC606, with advice on how to reduce across ranks (all-reduce sums and counts separately,
  numerator and denominator of a batch Dice, all-gather embeddings for in-batch negatives).

Robustness: the ranks first agree (an all-reduce of an ok flag) that every rank's call returned, so a
candidate that raises on one rank does not leave the others waiting in a collective. Every candidate call
has the audit's per-call time limit (SIGALRM in each rank), the process group has a timeout, and the audit
waits for each step with a deadline: a rank that hangs where no signal reaches it, or dies (os._exit, a
native crash), ends the check with an LC706 finding and every rank is killed (ranks also die with their
parent, by PR_SET_PDEATHSIG on Linux). A process group that cannot be formed is a skip with the reason.
"""
from losscheck.ddp.ranks import unavailable

__all__ = ["unavailable"]
