"""The one exception type users see: the CLI prints it as a single `error: …` line and exits 2."""


class LSNetError(Exception):
    """Bad input from the user (file, config, data, environment), explained in one line."""
