"""Measurement: Goodhart curves for RL runs and best-of-n, functional-form fits, hack detectors.

    from rewardlab.measure import load_curves, fit_all, detect
    data = load_curves("runs/my-run")          # or a best-of-n directory made by `rewardlab bon`
    for f in fit_all(data): print(f.summary())
    print(detect("runs/my-run", named_tokens=["yes"]).onsets)

Names resolve lazily (PEP 562) so that `rewardlab.measure.commands` can be imported by the CLI
without paying for numpy/scipy at start-up.
"""

from __future__ import annotations

import importlib

_API = {
    "load_curves": "rewardlab.measure.fits",
    "GoodhartData": "rewardlab.measure.fits",
    "Fit": "rewardlab.measure.fits",
    "fit": "rewardlab.measure.fits",
    "fit_all": "rewardlab.measure.fits",
    "expected_best_of_n": "rewardlab.measure.bon",
    "kl_bon_bound": "rewardlab.measure.bon",
    "kl_bon_beirami": "rewardlab.measure.bon",
    "run_bon": "rewardlab.measure.bon",
    "rescore": "rewardlab.measure.bon",
    "BonConfig": "rewardlab.measure.bon",
    "detect": "rewardlab.measure.detectors",
    "Detector": "rewardlab.measure.detectors",
    "default_detectors": "rewardlab.measure.detectors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_API[name]), name)
