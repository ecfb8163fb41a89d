"""The bottom layer: the config and its settings, file helpers, SQL literals, the layout of the data folder. It
imports no other package of finops (tests/test_layers.py)."""
