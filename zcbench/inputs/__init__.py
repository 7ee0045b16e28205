"""Image inputs: a batch (or a whole split) of a dataset's images, read from its own release format.

datasets.py holds the dataset registry DATASETS, CIFAR-10/100 and ImageNet16-120, the
stand-in and synthetic fallbacks, and load_batch/load_split; vit_datasets.py adds the
ViT tasks' datasets and tnb101_images.py TransNAS-Bench-101's Taskonomy images.
Importing the package registers all of them, so every dataset name resolves whichever
module a caller imports.
"""
from . import datasets, tnb101_images, vit_datasets  # noqa: F401  (each registers its datasets)
from .datasets import DATASETS, Batch, ImageSet, load_batch, load_split

__all__ = ["DATASETS", "Batch", "ImageSet", "load_batch", "load_split"]
