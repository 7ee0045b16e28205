"""Hydra configs of zcbench's commands (a package so that `config_path="../conf"` resolves as
pkg://zcbench.conf when a command is imported from an installed zcbench)."""
