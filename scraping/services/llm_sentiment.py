"""Sentiment by the company's LLM provider, for projects whose `config.sentiment` is "llm".

The result's sentences (analysis.sentences) go to the provider in one chat completion,
numbered; it answers one score in [-1, 1] per sentence as JSON. The result's compound is
their mean, its proportions the shares of positive, neutral and negative sentences, and its
label follows the same rules as VADER's (analysis.disagree for `mixed`, the VADER thresholds
otherwise), so analytics and filters read both engines alike.

The call goes through knowledge.services.llm (the provider's client: outbound checks, timeouts,
its encrypted key). The engine is the company's first active provider with a base URL to call
(usable_provider); choosing "llm" for a project of a company without one is refused, by the API
and the admin (provider_problem). When the provider is gone by the time of a scrape, or a call
fails or answers something that is not one score per sentence, that result is scored by VADER
instead and a warning is logged (the provider's reason, never its key): a scrape is not lost to
a provider outage.
"""

from __future__ import annotations

import json
import logging
import re

from ..models import Sentiment
from . import analysis

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
MAX_SENTENCES = 60
SYSTEM = (
    "You rate the sentiment of sentences from customer reviews, articles and posts. For each numbered "
    "sentence give one number from -1 (very negative) through 0 (neutral) to 1 (very positive). "
    'Answer with JSON only: {"scores": [one number per sentence, in order]}.'
)
_JSON = re.compile(r"\{.*\}", re.S)


class AnswerError(ValueError):
    """The provider's answer is not one score per sentence."""


def prompt(sentences: list[str]) -> str:
    return "\n".join(f"{number}. {sentence}" for number, sentence in enumerate(sentences, 1))


def parse_scores(answer: str, expected: int) -> list[float]:
    match = _JSON.search(answer or "")
    try:
        scores = json.loads(match.group(0))["scores"] if match else None
    except (ValueError, KeyError, TypeError) as exc:
        raise AnswerError(f"not JSON with scores ({exc.__class__.__name__})") from exc
    if not isinstance(scores, list) or len(scores) != expected:
        raise AnswerError(f"{len(scores) if isinstance(scores, list) else 'no'} scores for {expected} sentences")
    try:
        return [round(max(-1.0, min(1.0, float(score))), 4) for score in scores]
    except (TypeError, ValueError) as exc:
        raise AnswerError("a score is not a number") from exc


def from_scores(scores: list[float]) -> Sentiment:
    compound = round(sum(scores) / len(scores), 4) if scores else 0.0
    share = (lambda n: round(n / len(scores), 4)) if scores else (lambda n: 0.0)
    positive = sum(score >= analysis.POSITIVE_THRESHOLD for score in scores)
    negative = sum(score <= analysis.NEGATIVE_THRESHOLD for score in scores)
    label = Sentiment.MIXED if analysis.disagree(scores) else analysis.label_for(compound)
    return Sentiment(
        label=label,
        compound=compound,
        positive=share(positive),
        negative=share(negative),
        neutral=share(len(scores) - positive - negative),
        sentences=scores,
    )


class LLMEngine:
    """Scores texts with one provider; built once per ingest (one client)."""

    def __init__(self, provider):
        from knowledge.services import llm

        self.provider, self.llm = provider, llm
        self.model = provider.models[0] if provider.models else DEFAULT_MODEL
        self.client = llm.client_for(provider)

    def __call__(self, text: str) -> Sentiment:
        sentences = analysis.sentences((text or "")[: analysis.SENTIMENT_MAX_CHARS])[:MAX_SENTENCES]
        if not sentences:
            return analysis.sentiment(text)
        try:
            reply = self.client.chat.completions.create(
                model=self.model,
                temperature=0,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt(sentences)}],
            )
            return from_scores(parse_scores(reply.choices[0].message.content or "", len(sentences)))
        except AnswerError as exc:
            logger.warning("LLM sentiment by %s unusable (%s); VADER used", self.provider, exc)
        except Exception as exc:  # the provider's failures, translated (no key in the message)
            logger.warning(
                "LLM sentiment by %s failed (%s); VADER used", self.provider, self.llm.translate(exc, self.provider)
            )
        return analysis.sentiment(text)


def usable_provider(company_id):
    """The company's first active LLM provider with a base URL to call, or None."""
    from knowledge.models import LLMProvider

    return next((p for p in LLMProvider.objects.for_company(company_id).filter(is_active=True) if p.endpoint), None)


def provider_problem(company_id) -> str | None:
    """Why the company's LLM provider cannot be a project's sentiment engine, or None."""
    if company_id is not None and usable_provider(company_id) is not None:
        return None
    return (
        "This company has no active LLM provider with a base URL to call: add one under "
        "/api/v1/knowledge/providers/ first, or choose another sentiment engine (vader, none)."
    )


def setting_problem(company_id, sentiment: str, current: str | None = None) -> str | None:
    """Why a project of the company may not change its engine from `current` (None for a new
    project) to `sentiment`, or None: "llm" needs a usable provider (one already set is kept)."""
    if sentiment != "llm" or current == "llm":
        return None
    return provider_problem(company_id)


def engine_for(company_id):
    """The company's usable provider as an engine, or None (VADER then)."""
    from knowledge.services.llm import ProviderError

    provider = usable_provider(company_id)
    if provider is None:
        logger.warning("LLM sentiment asked for company %s, which has no active LLM provider; VADER used", company_id)
        return None
    try:
        return LLMEngine(provider)
    except ProviderError as exc:
        logger.warning("LLM sentiment by %s unavailable (%s); VADER used", provider, exc)
        return None
