"""Generated tables, each computed from its source, never written by hand.

    catalogue   the catalogue as data: `losscheck list` and the README's table of losses
    libraries   the library losses the tests audit, with their verdicts: the README's library table
    readme      `python -m losscheck.tables.readme [--check]`: every generated block of the README
"""
