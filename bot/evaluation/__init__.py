"""Simulated customers, the library: the TOML case file (`cases.py`), the customer and the
judge models (`customer.py`, `judge.py`), the deployment's tools answered by the cases'
stubs (`stubs.py`), the conversations and their verdicts (`runner.py`, `transcript.py`), and
their report (`report.py`, `htmlreport.py`). `fmbot eval` (bot/features/evaluation) and the
test kit's `BotTester.simulate` (bot/testing/simulation.py) both run on it."""
