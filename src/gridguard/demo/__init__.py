"""The Huayuan demo scenario, in one place: the 2020 community built and run step by step.

Each line of defense has its step in a private module of this package
(``_sweep``, ``_watch``, ``_quarantine``...); :data:`DEMO_STEPS` runs them in order.
"""

from ._run import DEMO_STEPS, DemoContext, QuietProgress, build_huayuan, run_demo

__all__ = ["DEMO_STEPS", "DemoContext", "QuietProgress", "build_huayuan", "run_demo"]
