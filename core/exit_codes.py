"""The exit codes of the `finops` commands (docs/spec.md#commands; finops/cli.py prints what each one means)."""

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT, EXIT_SEND_FAILED, EXIT_INTERNAL_ERROR = 0, 1, 2, 3, 4
