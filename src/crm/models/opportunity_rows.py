"""The child rows of an opportunity on the ERPNext-style surface (§9.3): its items and its
lost reasons, each numbered ``idx`` 1..n within the opportunity, without gaps.

Items carry ``qty x rate = amount`` and the same in the company currency (``base_*``, via
the opportunity's ``conversion_rate``); the opportunity's ``total``/``base_total`` are the
sums over its items, kept in the same transaction as every item change.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.concurrency import Versioned
from crm.core.db import Base, Fixed4, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned


class OpportunityItem(UUIDPrimaryKey, Timestamps, Versioned, TenantOwned, Base):
    __tablename__ = "opportunity_items"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opportunities.id", ondelete="CASCADE")
    )
    idx: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str | None] = mapped_column(String(140), default=None)
    item_name: Mapped[str | None] = mapped_column(String(255), default=None)
    item_group: Mapped[str | None] = mapped_column(String(140), default=None)
    brand: Mapped[str | None] = mapped_column(String(140), default=None)
    uom: Mapped[str | None] = mapped_column(String(40), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    image: Mapped[str | None] = mapped_column(String(1000), default=None)
    image_view: Mapped[str | None] = mapped_column(String(1000), default=None)
    qty: Mapped[Decimal] = mapped_column(Fixed4, default=Decimal(1))
    rate: Mapped[Decimal] = mapped_column(Fixed4, default=Decimal(0))
    amount: Mapped[Decimal] = mapped_column(Fixed4, default=Decimal(0))
    base_rate: Mapped[Decimal] = mapped_column(Fixed4, default=Decimal(0))
    base_amount: Mapped[Decimal] = mapped_column(Fixed4, default=Decimal(0))

    __table_args__ = (Index("ix_opportunity_items_opportunity_id_idx", "opportunity_id", "idx"),)


class OpportunityLostReason(UUIDPrimaryKey, Timestamps, Versioned, TenantOwned, Base):
    __tablename__ = "opportunity_lost_reasons"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opportunities.id", ondelete="CASCADE")
    )
    idx: Mapped[int] = mapped_column(Integer)
    lost_reason: Mapped[str] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_opportunity_lost_reasons_opportunity_id_idx", "opportunity_id", "idx"),
    )
