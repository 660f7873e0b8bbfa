"""The web chat: the answer goes back in `/chat`'s HTTP response, and the page reads later
messages (an operator's, a notice) from the transcript itself; nothing is pushed."""

from __future__ import annotations

from typing import ClassVar

from carebot.delivery.channels.base import Channel


class WebChannel(Channel):
    name: ClassVar[str] = "web"
    reads_transcript = True
