"""accsync: posts approved volunteer expenses and honorariums into accounting systems."""

__version__ = "0.1.0"
