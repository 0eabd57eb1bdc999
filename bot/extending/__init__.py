"""The extension API: the contract between fmbot and what extends it, the developer's App and
plugins as much as fmbot's own features. The tools' contract (`tools.py`: `ToolSource`,
`ToolDefinition`, who asks in a `ToolContext`) and the events hooks get (`events.py`). Value
types and protocols only: it imports nothing of `bot`, and the public API (`bot`) re-exports
it."""
