"""The search command's configs (a package so that its `config_path="../conf/search"` resolves from an
installed zcbench)."""
