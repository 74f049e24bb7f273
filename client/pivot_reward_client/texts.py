"""Text out of trainers' samples: plain strings, chat messages, content parts."""

from collections.abc import Mapping, Sequence
from typing import Any


def _content_text(content: Any) -> str:
    """Message content as text: a string, or a list of parts (`{"type": "text", "text": ...}`)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return str(content)


def _messages_text(messages: Sequence[Any], role: str) -> str:
    """Content of the last message with `role`, else of the last message."""
    dicts = [m for m in messages if isinstance(m, Mapping)]
    for message in reversed(dicts):
        if message.get("role") == role:
            return _content_text(message.get("content"))
    return _content_text(dicts[-1].get("content")) if dicts else ""


def completion_text(completion: Any) -> str:
    """The response text of a completion: a string, one message, or a conversation (the last
    assistant message's content, as TRL passes conversational completions)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, Sequence):
        return _messages_text(completion, "assistant")
    return "" if completion is None else str(completion)


def prompt_text(prompt: Any) -> str:
    """The question of a prompt: a string, or a conversation (the last user message's content)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Mapping):
        return _content_text(prompt.get("content"))
    if isinstance(prompt, Sequence):
        return _messages_text(prompt, "user")
    return "" if prompt is None else str(prompt)
