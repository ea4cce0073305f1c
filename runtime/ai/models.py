"""The model behind the AI gateway: any OpenAI-compatible chat-completions server (OpenAI,
Ollama, llama.cpp's server, vLLM, LM Studio: the `openai` SDK with its `base_url`), or
Anthropic (the optional `anthropic` extra). Configured by the environment:

| variable            | meaning                                                           |
|---------------------|-------------------------------------------------------------------|
| WEBOTER_AI_BASE_URL | the server, e.g. http://127.0.0.1:11434/v1 (Ollama)               |
| WEBOTER_AI_MODEL    | the model name the server knows                                   |
| WEBOTER_AI_API_KEY  | its key (else OPENAI_API_KEY / ANTHROPIC_API_KEY; local: none)    |
| WEBOTER_AI_PROVIDER | openai (default) or anthropic                                     |
| WEBOTER_AI_TIMEOUT  | seconds per request (default 60); 429s and time-outs retried twice |

The same keys without the prefix, lower-case (`base_url`, `model`, `api_key`, `provider`,
`timeout`), may be kept in a YAML file: `WEBOTER_AI_CONFIG`, else `ai.yaml` in `WEBOTER_HOME`;
the environment wins over the file.

`Model.chat` sends one conversation and returns the reply's text; the gateway
(runtime/ai/gateway.py) asks for JSON against a schema generated from msgspec types and
validates every reply before using it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from weboter.runtime.errors import ModelError

NOT_CONFIGURED = (
    "no AI model is configured: set WEBOTER_AI_BASE_URL (any OpenAI-compatible server: OpenAI, "
    "Ollama, llama.cpp, vLLM, LM Studio) and WEBOTER_AI_MODEL"
)
NOT_CONFIGURED_HINT = (
    "e.g. WEBOTER_AI_BASE_URL=http://127.0.0.1:11434/v1 WEBOTER_AI_MODEL=llama3.1; the "
    "self-healing of locators (--on-error heal) needs no model"
)


@dataclass(frozen=True)
class ModelConfig:
    model: str
    base_url: str | None = None
    api_key: str = ""
    provider: str = "openai"
    timeout: float = 60.0
    retries: int = 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ModelConfig | None:
        """The configured model, or None when there is none: the environment, over the
        config file (WEBOTER_AI_CONFIG, else ai.yaml in WEBOTER_HOME)."""
        env = {**_from_file(os.environ if environ is None else environ)}
        env.update(os.environ if environ is None else environ)
        model = env.get("WEBOTER_AI_MODEL", "")
        base_url = env.get("WEBOTER_AI_BASE_URL") or None
        if not model:
            return None
        provider = env.get("WEBOTER_AI_PROVIDER", "openai")
        fallback = "ANTHROPIC_API_KEY" if provider == "anthropic" else "OPENAI_API_KEY"
        try:
            timeout = float(env.get("WEBOTER_AI_TIMEOUT", "60"))
        except ValueError:
            raise ModelError(
                f"WEBOTER_AI_TIMEOUT={env['WEBOTER_AI_TIMEOUT']!r} is not a number of seconds"
            ) from None
        return cls(
            model=model,
            base_url=base_url,
            api_key=env.get("WEBOTER_AI_API_KEY") or env.get(fallback) or "",
            provider=provider,
            timeout=timeout,
        )


FILE_KEYS = {  # a key of the config file -> the variable it stands for
    "base_url": "WEBOTER_AI_BASE_URL",
    "model": "WEBOTER_AI_MODEL",
    "api_key": "WEBOTER_AI_API_KEY",
    "provider": "WEBOTER_AI_PROVIDER",
    "timeout": "WEBOTER_AI_TIMEOUT",
}


def _from_file(environ: Mapping[str, str]) -> dict[str, str]:
    """The config file's settings as the variables they stand for ({} when there is none)."""
    named = environ.get("WEBOTER_AI_CONFIG")
    home = environ.get("WEBOTER_HOME")
    path = Path(named) if named else Path(home) / "ai.yaml" if home else None
    if path is None or (not named and not path.is_file()):
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(
            f"the AI config file {path} cannot be read: {exc}",
            hint=f"keys: {', '.join(FILE_KEYS)} (YAML)",
        ) from None
    unknown = sorted(set(data) - set(FILE_KEYS)) if isinstance(data, dict) else ["(not a map)"]
    if unknown:
        raise ModelError(
            f"the AI config file {path} has unknown keys: {', '.join(unknown)}",
            hint=f"keys: {', '.join(FILE_KEYS)}",
        )
    return {FILE_KEYS[k]: str(v) for k, v in data.items() if v is not None}


def configured(environ: Mapping[str, str] | None = None) -> Model:
    """The configured model; ModelError in one line when there is none."""
    config = ModelConfig.from_env(environ)
    if config is None:
        raise ModelError(NOT_CONFIGURED, hint=NOT_CONFIGURED_HINT)
    return Model(config)


class Model:
    """One model server: `chat(messages, schema, name) -> text`."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        if config.provider not in ("openai", "anthropic"):
            raise ModelError(
                f"WEBOTER_AI_PROVIDER={config.provider!r} is not openai or anthropic",
                hint="openai covers every OpenAI-compatible server (Ollama, vLLM, ...)",
            )
        self._client: Any = None

    def chat(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str) -> str:
        """The reply to `messages` (the first may be the system prompt), asked to be JSON
        matching `schema`. ModelError says what went wrong with the server."""
        if self.config.provider == "anthropic":
            return self._anthropic(messages, schema)
        return self._openai(messages, schema, name)

    def _openai(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str) -> str:
        import openai  # noqa: PLC0415 - only when a model is used

        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self.config.base_url,
                api_key=self.config.api_key or "none",  # local servers take any key
                timeout=self.config.timeout,
                max_retries=self.config.retries,
            )
        where = self.config.base_url or "the OpenAI API"
        try:
            response = self._client.chat.completions.create(
                model=self.config.model,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema},
                },
            )
        except openai.RateLimitError as exc:
            raise ModelError(
                f"the model server at {where} is rate limiting (HTTP 429) after "
                f"{self.config.retries} retries: {_said(exc)}",
                hint="wait and try again, or use a server with more capacity",
            ) from exc
        except openai.APITimeoutError as exc:
            raise ModelError(
                f"the model server at {where} did not answer within {self.config.timeout:g} s "
                f"({self.config.retries} retries)",
                hint="raise WEBOTER_AI_TIMEOUT, or use a smaller model",
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"cannot reach the model server at {where}: {_said(exc)}",
                hint="check WEBOTER_AI_BASE_URL and that the server is running",
            ) from exc
        except openai.APIStatusError as exc:
            raise ModelError(
                f"the model server at {where} answered HTTP {exc.status_code}: {_said(exc)}",
                hint="check WEBOTER_AI_MODEL and WEBOTER_AI_API_KEY",
            ) from exc
        choices = getattr(response, "choices", None) or []
        content = choices[0].message.content if choices else None
        return str(content or "")

    def _anthropic(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        try:
            import anthropic  # noqa: PLC0415 - an optional extra
        except ImportError:
            raise ModelError(
                "WEBOTER_AI_PROVIDER=anthropic needs the anthropic package",
                hint="pip install 'weboter[anthropic]'",
            ) from None
        if self._client is None:
            self._client = anthropic.Anthropic(
                api_key=self.config.api_key or None,
                base_url=self.config.base_url,
                timeout=self.config.timeout,
                max_retries=self.config.retries,
            )
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        system += f"\n\nReply with one JSON value matching this JSON Schema:\n{schema}"
        rest = [m for m in messages if m["role"] != "system"]
        try:
            response = self._client.messages.create(
                model=self.config.model, max_tokens=8192, system=system, messages=rest
            )
        except anthropic.APIError as exc:
            raise ModelError(f"the Anthropic API failed: {_said(exc)}") from exc
        return "".join(getattr(block, "text", "") for block in response.content)


def _said(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
