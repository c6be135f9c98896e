"""The `ai_generator` component: writes each section with an LLM (OpenAI-compatible chat
completions, through knowledge.services.llm: SSRF-guarded, bounded timeouts).

One request per section, not one JSON request for all: every section gets its own word
range and instructions, a long article is not capped by one answer's max_tokens, no JSON
has to be parsed out of a model's answer, and a failure costs one section: sections
already written (kept in `data.generated_content`, saved with the lease renewal after each
one) are not asked for again when the context is retried or taken over.

Without a template (no `data.template`), one section "content" is written from
`data.instructions`.

With `data.sources` (what a retrieval, or another component, found), every section's prompt
lists them numbered [1]..[n] and asks for citations as [n]; the markers become Markdown
footnote references and the last section ends with the "Sources" footnote list
(citations.py). Without sources the prompts and the output are as they were.

Provider: the context's agent's (knowledge.services.chat.provider_for), else the
component's `provider_id` (an LLMProvider of the same company), else the company's first
active provider. Config (component config, then the pipeline step's overrides, then the
agent's values for what neither sets): model, temperature, max_tokens, top_p,
frequency_penalty, presence_penalty, stop_sequences, system_prompt, provider_id.
"""

from __future__ import annotations

from knowledge.models import Agent, LLMProvider
from knowledge.services.chat import provider_for
from knowledge.services.crypto import EncryptionKeyError
from knowledge.services.llm import ProviderError, client_for, translate

from . import citations
from .base import ComponentError, ConfigCache, RunState, number_error, object_id

TYPE = "ai_generator"
DEFAULT_SYSTEM_PROMPT = "You are an expert content writer. Write clear, accurate, well-structured prose."
RANGES = {"temperature": (0, 2), "top_p": (0, 1), "frequency_penalty": (-2, 2), "presence_penalty": (-2, 2)}
MAX_TOKENS = 128_000


def validate_config(config: dict, *, company, complete: bool = True) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(key, message):
        errors.setdefault(key, []).append(message)

    for key, (low, high) in RANGES.items():
        if message := number_error(config, key, low, high):
            add(key, message)
    if message := number_error(config, "max_tokens", 1, MAX_TOKENS, integer=True):
        add("max_tokens", message)
    for key in ("model", "system_prompt"):
        if key in config and not isinstance(config[key], str):
            add(key, f"{key}: must be text.")
    stops = config.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or len(stops) > 4 or not all(isinstance(s, str) and s for s in stops)
    ):
        add("stop_sequences", "stop_sequences: a list of at most 4 non-empty strings.")
    if config.get("provider_id"):
        pk = object_id(config["provider_id"])
        if pk is None or not LLMProvider.objects.for_company(company).filter(pk=pk).exists():
            add("provider_id", f"provider_id: no LLM provider “{config['provider_id']}” in this company.")
    return errors


# A batch's contexts read their agent and provider once per worker and interval.
_found = ConfigCache("llm", "knowledge.Agent", "knowledge.LLMProvider")


def context_agent(state: RunState) -> Agent | None:
    agent_id = getattr(state.context, "agent_id", None)
    if agent_id is None:
        return None
    company_id = state.context.company_id
    agent = _found.get(
        ("agent", company_id, agent_id), lambda: Agent.objects.for_company(company_id).filter(pk=agent_id).first()
    )
    if agent is None:
        raise ComponentError("The context's agent no longer exists.")
    return agent


def _provider(state: RunState, agent: Agent | None, config: dict) -> LLMProvider | None:
    company_id = state.context.company_id
    providers = LLMProvider.objects.for_company(company_id)
    if agent is not None:
        return _found.get(("agent's provider", company_id, agent.pk), lambda: provider_for(agent))
    if config.get("provider_id"):
        pk = object_id(config["provider_id"])
        provider = _found.get(("provider", company_id, pk), lambda: providers.filter(pk=pk).first())
        if provider is None:
            raise ComponentError(f"The LLM provider “{config['provider_id']}” no longer exists.")
        return provider
    return _found.get(("first active provider", company_id), lambda: providers.filter(is_active=True).first())


def request_options(config: dict, agent: Agent | None, provider: LLMProvider) -> dict:
    """The chat-completion parameters: config first, then the agent's values."""
    model = config.get("model") or (agent.model if agent else "") or (provider.models[0] if provider.models else "")
    if not model:
        raise ComponentError("No model: set `model` in the component's config.")
    options = {"model": model}
    for key in ("temperature", "max_tokens"):
        value = config.get(key, getattr(agent, key, None) if agent else None)
        if value is not None:
            options[key] = value
    for key in ("top_p", "frequency_penalty", "presence_penalty"):
        if config.get(key) is not None:
            options[key] = config[key]
    if config.get("stop_sequences"):
        options["stop"] = config["stop_sequences"]
    return options


def sections_of(data: dict) -> list[dict]:
    template = data.get("template") if isinstance(data.get("template"), dict) else {}
    sections = template.get("sections") or []
    if sections:
        return sections
    return [
        {
            "id": "content",
            "name": data.get("title") or "Content",
            "instructions": data.get("instructions", ""),
            "word_range": None,
        }
    ]


def prompt(data: dict, section: dict, kind: str, sources: list[dict] | None = None) -> str:
    lines = [
        f"Write the “{section['name']}” section of a {kind}"
        + (f" titled “{data['title']}”." if data.get("title") else ".")
    ]
    if section.get("instructions"):
        lines.append(f"Instructions: {section['instructions']}")
    if section.get("word_range"):
        low, high = section["word_range"]
        lines.append(f"Length: {low} to {high} words.")
    for key, label in (("target_audience", "Audience"), ("tone", "Tone"), ("keywords", "Keywords")):
        value = data.get(key)
        if value:
            lines.append(f"{label}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if sources:
        lines.append(citations.prompt_block(sources))
    lines.append("Answer with the section's text only, without a heading.")
    return "\n".join(lines)


def run(state: RunState, config: dict) -> None:
    agent = context_agent(state)
    provider = _provider(state, agent, config)
    generated = dict(state.data.get("generated_content") or {})
    system = config.get("system_prompt") or (agent.system_prompt if agent else "") or DEFAULT_SYSTEM_PROMPT
    usage = dict(state.data.get("generation") or {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0})
    try:
        client = client_for(provider)
        options = request_options(config, agent, provider)
    except EncryptionKeyError as exc:
        raise ComponentError(str(exc)) from exc
    sources = citations.given(state.data)
    sections = sections_of(state.data)
    todo = [section for section in sections if not generated.get(section["id"])]
    with client:
        for n, section in enumerate(todo, start=1):
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt(state.data, section, state.context.type, sources)},
            ]
            try:
                answer = client.chat.completions.create(messages=messages, **options)
            except Exception as exc:  # the openai client's and httpx's errors; others as they are
                raise translate(exc, provider) from exc
            text = (answer.choices[0].message.content or "").strip() if answer.choices else ""
            if not text:
                raise ProviderError(
                    f"“{provider}” returned an empty answer for “{section['name']}”.", kind="unavailable"
                )
            if sources:
                text = citations.link_markers(text, len(sources))
                if section is sections[-1]:
                    text = f"{text}\n\n{citations.footnotes(sources)}"
            generated[section["id"]] = text
            if answer.usage:
                usage["prompt_tokens"] += answer.usage.prompt_tokens or 0
                usage["completion_tokens"] += answer.usage.completion_tokens or 0
            usage["requests"] += 1
            usage["model"] = answer.model or options["model"]
            state.data["generated_content"] = generated
            state.data["generation"] = usage
            if n < len(todo):  # the runner saves after the component
                state.heartbeat()
