"""The one exception type that a stage turns into a one-line message and a non-zero exit."""


class StudyError(Exception):
    """Bad input: a file, a param or an argument, named in the message."""
