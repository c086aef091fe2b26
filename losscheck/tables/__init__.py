"""Generated tables, each computed from its source, never written by hand.

    catalogue   the catalogue as data: `losscheck list` and the README's table of losses
    libraries   the library losses the tests audit, with their verdicts: the README's library table
    guessing    the catalogue id a loss object probably is, from the specs' names and signatures (the table
                `keywords()`): `losscheck init` and `losscheck audit` without --as
    readme      `python -m losscheck.tables.readme [--check]`: every generated block of the README
"""
