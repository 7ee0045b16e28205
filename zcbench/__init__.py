"""zcbench: a reference harness for zero-cost neural architecture search proxies."""
from .cache import load_scores

__version__ = "0.1.0"
__all__ = ["load_scores", "__version__"]
