"""Simulated customers as a feature (`fmbot eval FILE`, issue 66): a model plays each case's
customer against the deployment's bot, its tools answered by the case's stubs, and a judge
model scores each transcript against the case's criteria. The engine and the feature are
this one folder; the test kit's `BotTester.simulate` (bot/testing/simulation.py) runs on the
engine too, and `bot.testing` re-exports `Case`, `CaseFile`, `Run` and `read_cases`.

- cases.py: the TOML case file (`read_cases`, `CaseFileError`, `Case`, `CaseFile`).
- customer.py, judge.py: the customer and the judge models.
- stubs.py: the deployment's tools (and the App's context providers) answered by the case.
- runner.py, transcript.py: the conversations and their verdicts (`Runner`, `Run`).
- report.py, htmlreport.py: the table, JSON, baseline and the HTML report.
- settings.py: EVAL_CUSTOMER_MODEL, EVAL_JUDGE_MODEL.
- cli.py, evalbot.py: the `eval` command, and the deployment's bot it builds in process (its
  command context's `running`) for the runner.
- feature.py: the Feature (its command and settings; `SimulationModels` offered to the test
  kit, `CaseFileCheck` to the console).
"""
