"""The baseline ensembles of the LIBRA paper's Table 1 that our proxies can rebuild.

- AZ-NAS (Lee & Ham, CVPR 2024): the four components az_expressivity,
  az_progressivity, az_trainability and az_complexity, each ranked over the
  population (best = n) and combined as sum of log(rank / n). A single bad
  component therefore pulls an architecture down hard, which is AZ-NAS's
  intent. This is the authors' NB201 notebook (tss_general.ipynb): scipy
  average ranks, -inf (failures) tied at the bottom, complexity = FLOPs.
- TE-NAS (Chen et al., ICLR 2021): NTK condition number and number of linear
  regions, combined by the sum of their ranks. Our `ntk` proxy is already
  -log(condition number), so both members are "higher = better" and the rank
  sum is the TE-NAS ordering (TE-NAS sums ascending-condition and
  descending-regions ranks; lower sum = better; same order).
"""
from __future__ import annotations

AZ_NAS_MEMBERS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
TE_NAS_MEMBERS = ("ntk", "linear_regions")
