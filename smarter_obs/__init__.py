"""smarter-obs: observability and analytics-as-code for SmarterOS."""
__version__ = "0.1.0"
