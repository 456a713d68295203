"""An LLM judge over any OpenAI-compatible ``/chat/completions`` API (CQ, CP and AQ by config).

``JudgeClient`` sends one request per judgment through the ``openai`` client
(its retries, ``Retry-After`` and timeouts), with a per-run call cap and an
on-disk cache; ``PromptTemplate`` renders the prompts kept in
``conf/eval/prompts``; ``parse_judgment`` reads the reply strictly. Nothing
here raises into training: failures become counts.
"""

from audiorole.eval.judge.client import JudgeClient, JudgeCounts
from audiorole.eval.judge.parse import Judgment, MalformedReply, parse_judgment
from audiorole.eval.judge.prompts import PromptTemplate

__all__ = ["JudgeClient", "JudgeCounts", "Judgment", "MalformedReply", "PromptTemplate", "parse_judgment"]
