"""Simulated customers (`fmbot eval FILE`, issue 66): a model plays each case's customer
against the deployment's bot, its tools answered by the case's stubs, and a judge model scores
each transcript against the case's criteria.

- cases.py: the TOML case file, checked before any model is called.
- customer.py, judge.py: the two models' prompts and the judge's strict JSON.
- stubs.py: the deployment's tool sources with their calls answered by the stubs.
- runner.py: the conversations (repeated, bounded concurrency) and their verdicts.
- report.py: the terminal's table, the JSON, the baseline's comparison.
- settings.py: EVAL_CUSTOMER_MODEL, EVAL_JUDGE_MODEL.

- cli.py, evalbot.py: the `eval` command, and the deployment's bot it builds in process
  (through the composition root) for the runner.
"""
