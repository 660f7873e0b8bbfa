"""FastAPI dependencies: the running service and settings, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from carebot.channels.delivery import Delivery
from carebot.service import CareService


def get_service(request: Request) -> CareService:
    service: CareService = request.app.state.service
    return service


ServiceDep = Annotated[CareService, Depends(get_service)]


def get_delivery(request: Request) -> Delivery:
    delivery: Delivery = request.app.state.delivery
    return delivery


DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
