"""The examples are scripts, not test modules: keep pytest (and ``pytest --nbmake examples``) from
importing ``test_fixtures.py`` or the test project it writes under ``output/``."""

collect_ignore = ["test_fixtures.py"]
collect_ignore_glob = ["output/*"]
