"""rewardlab: watch reward hacking happen and test the defences against it."""

__version__ = "0.1.0"
