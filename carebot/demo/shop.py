"""The demo shop, Lumen Home: customers, orders and shipments, generated deterministically.

The same seed gives the same customers and orders; dates are laid out relative to the day
the data is seeded, so statuses and delivery dates always look current.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

REGIONS: dict[str, dict[str, Any]] = {
    "en": {
        "currency": "USD",
        "rate": Decimal("1"),
        "phone": ("+1415555", 4),
        "carriers": ("UPS", "USPS"),
        "first": "James Mary Robert Patricia John Jennifer Michael Linda David Emily Daniel Sarah Chris Olivia".split(),
        "last": "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark Lewis Walker".split(),
        "cities": ("Oakland", "Chicago", "Austin", "Denver", "Toronto"),
    },
    "id": {
        "currency": "IDR",
        "rate": Decimal("15000"),
        "phone": ("+62812345", 5),
        "carriers": ("JNE", "SiCepat"),
        "first": "Budi Siti Agus Dewi Rizky Putri Andi Wulan Fajar Indah Dimas Ayu Bayu Rina".split(),
        "last": "Santoso Rahayu Wijaya Lestari Pratama Saputra Hidayat Kusuma Nugroho Permata".split(),
        "cities": ("Jakarta", "Surabaya", "Bandung", "Medan", "Denpasar"),
    },
    "es": {
        "currency": "EUR",
        "rate": Decimal("0.92"),
        "phone": ("+346001", 5),
        "carriers": ("Correos", "SEUR"),
        "first": "Lucía Hugo Martina Pablo Sofía Mateo Valeria Diego Carmen Javier Elena Álvaro Paula Marta".split(),
        "last": "García Fernández López Martínez Sánchez Pérez Gómez Ruiz Díaz Moreno Romero Navarro".split(),
        "cities": ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"),
    },
}

CATALOGUE: tuple[tuple[str, str, Decimal], ...] = (
    ("LH-LAMP-01", "Oak desk lamp", Decimal("49.00")),
    ("LH-KETL-02", "Matte steel kettle", Decimal("39.00")),
    ("LH-SHT-03", "Linen sheet set", Decimal("89.00")),
    ("LH-RUG-04", "Wool rug 160x230", Decimal("159.00")),
    ("LH-CHR-05", "Blue lounge chair", Decimal("249.00")),
    ("LH-BLND-06", "Glass blender", Decimal("69.00")),
    ("LH-MUG-07", "Stoneware mug", Decimal("12.00")),
    ("LH-TWL-08", "Cotton towel set", Decimal("35.00")),
    ("LH-DSK-09", "Walnut desk", Decimal("399.00")),
    ("LH-CNDL-10", "Soy candle", Decimal("18.00")),
)
STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
_STATUS_WEIGHTS = (5, 10, 20, 50, 8, 7)


@dataclass
class DemoCustomer:
    name: str
    email: str
    phone: str
    language: str
    discord_id: str | None = None


@dataclass
class DemoOrder:
    number: str
    customer_email: str
    status: str
    items: list[dict[str, Any]]
    total: Decimal
    currency: str
    created_at: datetime
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    estimated_delivery: date | None = None
    delivered_at: datetime | None = None
    events: list[tuple[datetime, str, str, str]] = field(default_factory=list)


# Named customers with known situations, for the README, demos and tests.
FEATURED_CUSTOMERS = (
    DemoCustomer("Alex Morgan", "alex.morgan@example.com", "+14155550100", "en", "100000000000000001"),
    DemoCustomer("Siti Rahayu", "siti.rahayu@example.com", "+6281234500001", "id", "100000000000000002"),
    DemoCustomer("Lucía Fernández", "lucia.fernandez@example.com", "+34600100001", "es", "100000000000000003"),
)


def _tracking(carrier: str, rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(12))
    return {"UPS": "1Z", "USPS": "9400", "JNE": "JNE", "SiCepat": "SCP", "Correos": "PQ", "SEUR": "SE"}[
        carrier
    ] + digits


def _order(
    number: str,
    customer: DemoCustomer,
    status: str,
    age_days: int,
    lines: list[tuple[int, int]],
    today: date,
    rng: random.Random,
) -> DemoOrder:
    region = REGIONS[customer.language]
    created = datetime.combine(today - timedelta(days=age_days), time(10, 0), tzinfo=UTC)
    items = []
    total = Decimal("0")
    for index, quantity in lines:
        sku, name, usd = CATALOGUE[index]
        price = (usd * region["rate"]).quantize(Decimal("1") if region["currency"] == "IDR" else Decimal("0.01"))
        items.append({"sku": sku, "name": name, "quantity": quantity, "unit_price": str(price)})
        total += price * quantity
    order = DemoOrder(number, customer.email, status, items, total, region["currency"], created)
    city = rng.choice(region["cities"])
    if status in ("shipped", "delivered", "returned"):
        order.carrier = rng.choice(region["carriers"])
        order.tracking_number = _tracking(order.carrier, rng)
        order.shipped_at = created + timedelta(days=1)
        order.estimated_delivery = (created + timedelta(days=5)).date()
        order.events.append((order.shipped_at, "shipped", "Warehouse", "Parcel handed to the carrier"))
        if status == "shipped":
            # In transit orders are young: their delivery date is still ahead.
            order.estimated_delivery = max(order.estimated_delivery, today + timedelta(days=1))
            order.events.append((order.shipped_at + timedelta(hours=20), "in_transit", city, "In transit"))
        else:
            order.delivered_at = created + timedelta(days=4, hours=5)
            order.events.append((order.delivered_at, "delivered", city, "Delivered"))
    elif status in ("pending", "processing"):
        order.estimated_delivery = today + timedelta(days=4)
    return order


def generate_demo_shop(
    *, today: date, seed: int = 7, customers: int = 200, orders: int = 1000
) -> tuple[list[DemoCustomer], list[DemoOrder]]:
    """About 200 customers over the three regions and about 1,000 orders in every status."""
    rng = random.Random(seed)
    people = list(FEATURED_CUSTOMERS)
    languages = ("en", "id", "es")
    serial = {lang: 1 for lang in languages}
    while len(people) < customers:
        language = languages[len(people) % 3]
        region = REGIONS[language]
        first, last = rng.choice(region["first"]), rng.choice(region["last"])
        prefix, width = region["phone"]
        serial[language] += 1
        email = f"{first}.{last}.{len(people)}@example.com".lower()
        email = email.translate(str.maketrans("áéíóúñ", "aeioun"))
        people.append(DemoCustomer(f"{first} {last}", email, f"{prefix}{serial[language]:0{width}d}", language))

    alex, siti, lucia = people[:3]
    number = iter(range(1001, 1001 + orders + 10))
    shop_orders = [
        # Alex: one order on its way, older ones delivered — "where is my order?" has one answer.
        _order(f"A{next(number)}", alex, "shipped", 2, [(0, 1), (6, 2)], today, rng),
        _order(f"A{next(number)}", alex, "delivered", 40, [(2, 1)], today, rng),
        _order(f"A{next(number)}", alex, "delivered", 95, [(9, 3)], today, rng),
        # Siti: two orders in progress — the bot asks which one.
        _order(f"A{next(number)}", siti, "processing", 1, [(1, 1)], today, rng),
        _order(f"A{next(number)}", siti, "shipped", 3, [(3, 1), (7, 2)], today, rng),
        _order(f"A{next(number)}", siti, "delivered", 60, [(5, 1)], today, rng),
        # Lucía: one delivered order.
        _order(f"A{next(number)}", lucia, "delivered", 12, [(4, 1)], today, rng),
    ]
    others = people[3:]
    while len(shop_orders) < orders:
        customer = rng.choice(others)
        status = rng.choices(STATUSES, weights=_STATUS_WEIGHTS)[0]
        age = {"pending": 0, "processing": 1, "shipped": rng.randint(1, 4)}.get(status, rng.randint(6, 300))
        lines = [(rng.randrange(len(CATALOGUE)), rng.choice((1, 1, 1, 2, 3))) for _ in range(rng.choice((1, 1, 2, 3)))]
        shop_orders.append(_order(f"A{next(number)}", customer, status, age, lines, today, rng))
    return people, shop_orders
