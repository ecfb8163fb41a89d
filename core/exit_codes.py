"""The exit codes of the `finops` commands and what each one means, declared once (docs/spec.md#exit-codes):
`finops --help` prints MEANINGS."""

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT, EXIT_SEND_FAILED, EXIT_INTERNAL_ERROR = 0, 1, 2, 3, 4

MEANINGS = {
    EXIT_OK: "done: published, or the report written and its emails sent, or the query or export written",
    EXIT_GATE_FAILED: "the quality gate failed (nothing of the failed build published); `report`: a day of the week "
    "not published, failed, or partial (without --allow-partial); `sql`: a SQL error or a refused statement",
    EXIT_BAD_INPUT: "bad input or config: one line naming the file or the key and what to do (`export`: an unknown "
    "table, bad dates or format)",
    EXIT_SEND_FAILED: "`report`: an email not sent (failed, or unconfirmed: it may have arrived; named with the "
    "--resend to run)",
    EXIT_INTERNAL_ERROR: "an internal error (a bug in finops): one line, and the traceback in <warehouse>.data/errors/ "
    "(the temp folder before the config is read); FINOPS_DEBUG=1 prints it on stderr instead",
}
