"""Packages found, not listed: every package under losscheck/, and references/ installed as losscheck.references.

pyproject.toml holds everything else; `[tool.setuptools.packages.find]` alone cannot give references/ its
installed name (a finder names packages after their folders), so this file adds that one name.
"""
from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["losscheck", "losscheck.*"]), "losscheck.references"])
