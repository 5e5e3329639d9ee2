"""The one exception type that a stage turns into a one-line message and a non-zero exit."""


class StudyError(ValueError):
    """Bad input: a file, a param or an argument, named in the message.

    A ``ValueError``, so that scikit-learn's tooling (``GridSearchCV``'s ``error_score``, ``check_estimator``)
    recognises it as bad input rather than a bug.
    """
