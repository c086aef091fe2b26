"""The gate: losscheck in a user's repository and CI.

    config     [tool.losscheck] of pyproject.toml: the losses to audit and their settings
    runner     audits many configured losses (ci, the pytest plugin, the gallery), each in its own worker
    baseline   accepted findings (`losscheck ci` and the plugin), keyed by loss, code, check and layout; new or stale
    github     workflow annotations when GITHUB_ACTIONS is set, on the loss's definition line
"""
