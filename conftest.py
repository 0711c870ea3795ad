"""Root conftest: the suite's pytest plugin (options --impl, --family, --report-json; Hypothesis
profiles dev / ci / thorough; thread policy; the summary table) lives in convcheck.plugin so that
the installed `convcheck verify` command uses exactly the same machinery."""

pytest_plugins = ("convcheck.plugin",)
