"""The judge: the process that decides, and never runs candidate code.

It draws the inputs (strategies, cases), runs the float64 references and compares (compare, tolerances), so the
candidate cannot reach what judges it. One audit flows through it as:

    auditor.audit_request(request, options)   the door, cheap to import; the engine loads on the first audit
    engine.run_audit                  resolve the target (losscheck.suspect), pick its spec, begin the state
      state.AuditState                one audit's run state: spec in force, conventions, probe record, diagnosis
      binding.Binding                 the parameter map: reference parameter -> the candidate's name for it
      context.Context                 what a check works through: the candidate, the state, the caller, search
      losscheck.checks                every registered check, in the declared order (checks/registry.py)
      evidence                        what a check finds: Evidence, Violation, Skip (Abort: end a search at once)
      batches                         a batch cut along its batch axis, the loss and gradients on each part
                                      (device.ddp's shards, reduction.accumulation's micro-batches)
      reproducer                      the standalone script of a finding
      source                          the loss's file and definition line and its inline suppressions, read
                                      with ast and tokenize (never imported); suppressed findings set aside
    -> losscheck.findings.AuditResult, written by losscheck.report

The leaves every check imports (evidence, compare, tolerances, formatting, outputs) import nothing else of the
judge, so imports go one way.
"""
