"""The worker harness: runs student code in its own process and reports observations."""

# Written on the console after the script scenario: what comes before is the script's output.
SCRIPT_END_MARK = "@@ fin du script @@"
