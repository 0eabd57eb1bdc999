"""Simulated customers as a feature (`fmbot eval FILE`, issue 66): a model plays each case's
customer against the deployment's bot, its tools answered by the case's stubs, and a judge
model scores each transcript against the case's criteria. The library it runs on (cases, the
two models, stubs, the runner, the report) is bot/evaluation, which the test kit's
`BotTester.simulate` uses too.

- settings.py: EVAL_CUSTOMER_MODEL, EVAL_JUDGE_MODEL.
- cli.py, evalbot.py: the `eval` command, and the deployment's bot it builds in process (its
  command context's `running`) for the runner.
- feature.py: the Feature (its command and settings).
"""
