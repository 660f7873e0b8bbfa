"""The desk as the operator API and the job queue's sweep use it: what operators see, the status
transitions they make, their replies, the actions they take on orders, and the hand-over timers
(built by `composition`)."""

from __future__ import annotations

from dataclasses import dataclass

from carebot.desk.order_actions import OrderActions
from carebot.desk.replies import Replies
from carebot.desk.status import ConversationStatus
from carebot.desk.timers import HandoverTimers
from carebot.desk.views import ConversationViews


@dataclass(frozen=True, slots=True)
class Desk:
    views: ConversationViews
    conversations: ConversationStatus
    replies: Replies
    timers: HandoverTimers
    actions: OrderActions
