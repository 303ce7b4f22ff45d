"""Seeded synthetic data: the Huayuan community, and a whole city streamed into storage.

Everything is drawn from ``random.Random(seed)``, never the global generator:
the same seed gives the same data.
"""

from ._city import CityStats, generate_city
from ._huayuan import Scenario, huayuan

__all__ = ["CityStats", "Scenario", "generate_city", "huayuan"]
