"""The project's command-line tools that are not pipeline stages: ``make bench``, ``make sweep`` (and the supervisor
its jobs run under), ``make exps`` and ``make dag``."""
