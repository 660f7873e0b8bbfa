"""The demo shop, Lumen Home: a catalogue of products and variants, customers with an address and
payment methods, and orders with their payments and shipments, generated deterministically as a
`ShopData`, the shape `carebot shop import` reads from any shop's files.

The same seed gives the same customers and orders; dates are laid out relative to the day the data
is seeded, so statuses and delivery dates always look current. The random draws are the ones the
demo has always made, in the same order, because tests and eval datasets name its customers, order
numbers, items and totals. What came later (variants, addresses, payment methods, payments, and the
customers whose orders are there to be acted on) is derived by position or drawn from a generator of
its own, so it changes none of that.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from carebot.domain import Language
from carebot.shop.importer import ShopData
from carebot.shop.records import (
    Address,
    Item,
    Payment,
    PaymentKind,
    PaymentMethod,
    Product,
    ShopCustomer,
    ShopOrder,
    ShopOrderStatus,
    Variant,
)

REGIONS: dict[str, dict[str, Any]] = {
    "en": {
        "currency": "USD",
        "rate": Decimal("1"),
        "phone": ("+1415555", 4),
        "carriers": ("UPS", "USPS"),
        "first": "James Mary Robert Patricia John Jennifer Michael Linda David Emily Daniel Sarah Chris Olivia".split(),
        "last": "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Clark Lewis Walker".split(),
        "cities": ("Oakland", "Chicago", "Austin", "Denver", "Toronto"),
        # city: (state, zip, country)
        "places": {
            "Oakland": ("CA", "94612", "USA"),
            "Chicago": ("IL", "60601", "USA"),
            "Austin": ("TX", "78701", "USA"),
            "Denver": ("CO", "80202", "USA"),
            "Toronto": ("ON", "M5V 2T6", "Canada"),
        },
        "street": "{number} {street}",
        "streets": ("Main St", "Oak Ave", "Pine St", "Maple Dr", "Cedar Ln", "Elm St", "Lake Rd"),
        "line2": "Apt {number}",
    },
    "id": {
        "currency": "IDR",
        "rate": Decimal("15000"),
        "phone": ("+62812345", 5),
        "carriers": ("JNE", "SiCepat"),
        "first": "Budi Siti Agus Dewi Rizky Putri Andi Wulan Fajar Indah Dimas Ayu Bayu Rina".split(),
        "last": "Santoso Rahayu Wijaya Lestari Pratama Saputra Hidayat Kusuma Nugroho Permata".split(),
        "cities": ("Jakarta", "Surabaya", "Bandung", "Medan", "Denpasar"),
        "places": {
            "Jakarta": ("DKI Jakarta", "10110", "Indonesia"),
            "Surabaya": ("Jawa Timur", "60271", "Indonesia"),
            "Bandung": ("Jawa Barat", "40115", "Indonesia"),
            "Medan": ("Sumatera Utara", "20112", "Indonesia"),
            "Denpasar": ("Bali", "80113", "Indonesia"),
        },
        "street": "{street} No. {number}",
        "streets": ("Jl. Sudirman", "Jl. Merdeka", "Jl. Diponegoro", "Jl. Gajah Mada", "Jl. Pemuda", "Jl. Asia Afrika"),
        "line2": "Blok {number}",
    },
    "es": {
        "currency": "EUR",
        "rate": Decimal("0.92"),
        "phone": ("+346001", 5),
        "carriers": ("Correos", "SEUR"),
        "first": "Lucía Hugo Martina Pablo Sofía Mateo Valeria Diego Carmen Javier Elena Álvaro Paula Marta".split(),
        "last": "García Fernández López Martínez Sánchez Pérez Gómez Ruiz Díaz Moreno Romero Navarro".split(),
        "cities": ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"),
        "places": {
            "Madrid": ("Madrid", "28013", "Spain"),
            "Barcelona": ("Barcelona", "08002", "Spain"),
            "Valencia": ("Valencia", "46002", "Spain"),
            "Sevilla": ("Sevilla", "41004", "Spain"),
            "Bilbao": ("Bizkaia", "48001", "Spain"),
        },
        "street": "{street} {number}",
        "streets": ("Calle Mayor", "Calle de Alcalá", "Gran Vía", "Calle Real", "Avenida de la Constitución"),
        "line2": "Piso {number}",
    },
}


def _variant(variant_id: str, price: str, *, available: bool = True, **options: str) -> Variant:
    return Variant(id=variant_id, options=options, price=Decimal(price), available=available)


# Prices in USD; an order line holds its region's price. Each product's first variant is the one
# orders always had (same name, same price): a line of it reads as the product's plain name.
CATALOGUE: tuple[Product, ...] = (
    Product(id="LH-LAMP-01", name="Oak desk lamp", variants=[
        _variant("LH-LAMP-01-BLK", "49.00", colour="black"),
        _variant("LH-LAMP-01-WHT", "49.00", colour="white"),
        _variant("LH-LAMP-01-NAT", "54.00", colour="natural"),
    ]),
    Product(id="LH-KETL-02", name="Matte steel kettle", variants=[
        _variant("LH-KETL-02-GRA", "39.00", colour="graphite"),
        _variant("LH-KETL-02-SAG", "39.00", colour="sage"),
        _variant("LH-KETL-02-CRM", "39.00", colour="cream", available=False),
    ]),
    Product(id="LH-SHT-03", name="Linen sheet set", variants=[
        _variant("LH-SHT-03-DBL-WHT", "89.00", size="double", colour="white"),
        _variant("LH-SHT-03-SGL-WHT", "79.00", size="single", colour="white", available=False),
        _variant("LH-SHT-03-QN-WHT", "99.00", size="queen", colour="white"),
        _variant("LH-SHT-03-KG-WHT", "109.00", size="king", colour="white"),
        _variant("LH-SHT-03-QN-SND", "99.00", size="queen", colour="sand"),
    ]),
    Product(id="LH-RUG-04", name="Wool rug 160x230", variants=[
        _variant("LH-RUG-04-GRY", "159.00", colour="grey"),
        _variant("LH-RUG-04-CRM", "159.00", colour="cream"),
        _variant("LH-RUG-04-TER", "169.00", colour="terracotta", available=False),
    ]),
    Product(id="LH-CHR-05", name="Blue lounge chair", variants=[
        _variant("LH-CHR-05-VLV", "249.00", fabric="velvet"),
        _variant("LH-CHR-05-BCL", "279.00", fabric="bouclé"),
    ]),
    Product(id="LH-BLND-06", name="Glass blender", variants=[
        _variant("LH-BLND-06-SLV", "69.00", colour="silver"),
        _variant("LH-BLND-06-BLK", "69.00", colour="black"),
    ]),
    Product(id="LH-MUG-07", name="Stoneware mug", variants=[
        _variant("LH-MUG-07-SND", "12.00", colour="sand"),
        _variant("LH-MUG-07-CHR", "12.00", colour="charcoal"),
        _variant("LH-MUG-07-SAG", "12.00", colour="sage"),
        _variant("LH-MUG-07-RST", "14.00", colour="rust", available=False),
    ]),
    Product(id="LH-TWL-08", name="Cotton towel set", variants=[
        _variant("LH-TWL-08-WHT", "35.00", colour="white"),
        _variant("LH-TWL-08-GRY", "35.00", colour="grey"),
        _variant("LH-TWL-08-NVY", "38.00", colour="navy"),
    ]),
    Product(id="LH-DSK-09", name="Walnut desk", variants=[
        _variant("LH-DSK-09-120", "399.00", width="120 cm"),
        _variant("LH-DSK-09-140", "449.00", width="140 cm"),
        _variant("LH-DSK-09-160", "499.00", width="160 cm", available=False),
    ]),
    Product(id="LH-CNDL-10", name="Soy candle", variants=[
        _variant("LH-CNDL-10-CED", "18.00", scent="cedar"),
        _variant("LH-CNDL-10-FIG", "18.00", scent="fig"),
        _variant("LH-CNDL-10-LAV", "18.00", scent="lavender"),
    ]),
)  # fmt: skip
_VARIANTS: dict[str, tuple[Product, Variant]] = {v.id: (p, v) for p in CATALOGUE for v in p.variants}
STATUSES: tuple[ShopOrderStatus, ...] = ("pending", "processing", "shipped", "delivered", "cancelled", "returned")
_STATUS_WEIGHTS = (5, 10, 20, 50, 8, 7)
_CARDS = ("Visa", "Mastercard", "Amex")


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    email: str
    phone: str
    language: Language
    discord_id: str | None = None
    wallet: tuple[tuple[PaymentKind, str, Decimal | None], ...] = ()
    """Payment methods besides the card everyone has: (kind, label, balance)."""
    card: bool = True


class ShipmentEvent(NamedTuple):
    at: datetime
    status: str
    location: str
    description: str


_Built = tuple[ShopOrder, list[ShipmentEvent]]


@dataclass(frozen=True)
class DemoShop:
    data: ShopData
    events: dict[str, list[ShipmentEvent]] = field(default_factory=dict)
    """Order number → its shipment's events (demo only: a shop's files carry none)."""


# Named customers with known situations, for the README, demos and tests.
FEATURED_CUSTOMERS = (
    DemoCustomer(
        "Alex Morgan", "alex.morgan@example.com", "+14155550100", "en", "100000000000000001",
        wallet=(("gift_card", "Gift card", Decimal("50.00")),),
    ),
    DemoCustomer(
        "Siti Rahayu", "siti.rahayu@example.com", "+6281234500001", "id", "100000000000000002",
        wallet=(("bank_transfer", "Bank transfer (BCA)", None), ("gift_card", "Gift card", Decimal("150000"))),
    ),
    DemoCustomer(
        "Lucía Fernández", "lucia.fernandez@example.com", "+34600100001", "es", "100000000000000003",
        wallet=(("gift_card", "Gift card", Decimal("20.00")),),
    ),
)  # fmt: skip

# Customers whose orders are there to be acted on (cancel, change, return, exchange), after the
# generated ones so that nothing generated moves. Their phone numbers lie outside the generated ones'.
ACTION_CUSTOMERS = (
    DemoCustomer(
        "Sam Taylor", "sam.taylor@example.com", "+14155550104", "en", "100000000000000004",
        wallet=(("gift_card", "Gift card", Decimal("25.00")),),
    ),
    DemoCustomer(
        "Dewi Lestari", "dewi.lestari@example.com", "+6281234600009", "id", "100000000000000005",
        wallet=(("bank_transfer", "Bank transfer (Mandiri)", None), ("gift_card", "Gift card", Decimal("200000"))),
        card=False,
    ),
    DemoCustomer(
        "Mateo Ruiz", "mateo.ruiz@example.com", "+34600200009", "es", "100000000000000006",
        wallet=(("gift_card", "Gift card", Decimal("30.00")),),
    ),
)  # fmt: skip
_METHOD_SUFFIX = {"card": "card", "gift_card": "gift", "bank_transfer": "bank", "paypal": "paypal", "cod": "cod"}


def _tracking(carrier: str, rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(12))
    return {"UPS": "1Z", "USPS": "9400", "JNE": "JNE", "SiCepat": "SCP", "Correos": "PQ", "SEUR": "SE"}[
        carrier
    ] + digits


def _shop_customer(position: int, person: DemoCustomer) -> ShopCustomer:
    """The customer at `position` with an address and payment methods derived from the position alone."""
    shop_id = f"c-{1001 + position}"
    region = REGIONS[person.language]
    city = region["cities"][(position // 3) % len(region["cities"])]
    state, zip_code, country = region["places"][city]
    number = 10 + (position * 37) % 290
    address = Address(
        line1=region["street"].format(number=number, street=region["streets"][position % len(region["streets"])]),
        line2=region["line2"].format(number=1 + position % 9) if position % 4 == 1 else None,
        city=city,
        state=state,
        country=country,
        zip=zip_code,
    )
    kinds: list[tuple[PaymentKind, str, Decimal | None]] = []
    if person.card:
        kinds.append(("card", f"{_CARDS[position % 3]} ending {(4242 + 1111 * position) % 10000:04d}", None))
    kinds.extend(person.wallet)
    methods = [
        PaymentMethod(id=f"pm-{1001 + position}-{_METHOD_SUFFIX[kind]}", kind=kind, label=label, balance=balance)
        for kind, label, balance in kinds
    ]
    return ShopCustomer(
        id=shop_id,
        name=person.name,
        email=person.email,
        phone=person.phone,
        language=person.language,
        discord_id=person.discord_id,
        address=address,
        payment_methods=methods,
    )


def _items(number: str, lines: Sequence[tuple[str, int]], region: dict[str, Any]) -> list[Item]:
    """One line per unit, priced in the region's currency."""
    unit = Decimal("1") if region["currency"] == "IDR" else Decimal("0.01")
    items: list[Item] = []
    for n, (variant_id, quantity) in enumerate(lines, start=1):
        product, variant = _VARIANTS[variant_id]
        price = (variant.price * region["rate"]).quantize(unit)
        items.extend(
            Item(
                id=f"{number}-{n}-{u}",
                product_id=product.id,
                variant_id=variant.id,
                name=product.name,
                options=dict(variant.options),
                price=price,
            )
            for u in range(1, quantity + 1)
        )
    return items


def _first(index: int) -> str:
    """The variant every order had before products had variants."""
    return CATALOGUE[index].variants[0].id


@dataclass(frozen=True)
class _OrderPlan:
    number: str
    customer: ShopCustomer
    status: ShopOrderStatus
    age_days: int
    lines: Sequence[tuple[str, int]]
    cancel_reason: str | None = None


def _order(plan: _OrderPlan, today: date, rng: random.Random) -> _Built:
    region = REGIONS[plan.customer.language]
    created = datetime.combine(today - timedelta(days=plan.age_days), time(10, 0), tzinfo=UTC)
    items = _items(plan.number, plan.lines, region)
    total = sum((i.price for i in items), Decimal("0"))
    method = plan.customer.payment_methods[0].id
    payments = [Payment(payment_method_id=method, amount=total, kind="payment")]
    if plan.status in ("cancelled", "returned"):
        payments.append(Payment(payment_method_id=method, amount=total, kind="refund"))
    shipping: dict[str, Any] = {}
    events: list[ShipmentEvent] = []
    city = rng.choice(region["cities"])
    if plan.status in ("shipped", "delivered", "returned"):
        carrier = rng.choice(region["carriers"])
        shipped_at = created + timedelta(days=1)
        shipping = {
            "carrier": carrier,
            "tracking_number": _tracking(carrier, rng),
            "shipped_at": shipped_at,
            "estimated_delivery": (created + timedelta(days=5)).date(),
        }
        events.append(ShipmentEvent(shipped_at, "shipped", "Warehouse", "Parcel handed to the carrier"))
        if plan.status == "shipped":
            # In transit orders are young: their delivery date is still ahead.
            shipping["estimated_delivery"] = max(shipping["estimated_delivery"], today + timedelta(days=1))
            events.append(ShipmentEvent(shipped_at + timedelta(hours=20), "in_transit", city, "In transit"))
        else:
            shipping["delivered_at"] = created + timedelta(days=4, hours=5)
            events.append(ShipmentEvent(shipping["delivered_at"], "delivered", city, "Delivered"))
    elif plan.status in ("pending", "processing"):
        shipping["estimated_delivery"] = today + timedelta(days=4)
    order = ShopOrder(
        number=plan.number,
        customer_id=plan.customer.id,
        status=plan.status,
        placed_at=created,
        currency=region["currency"],
        address=plan.customer.address,
        items=items,
        payments=payments,
        cancel_reason=plan.cancel_reason,
        **shipping,
    )
    return order, events


def _generated_people(rng: random.Random, customers: int) -> list[DemoCustomer]:
    people = list(FEATURED_CUSTOMERS)
    languages: tuple[Language, ...] = ("en", "id", "es")
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
    return people


def _generated_orders(rng: random.Random, shoppers: list[ShopCustomer], orders: int, today: date) -> list[_Built]:
    """Each order is built as soon as it is drawn: its shipment's draws come between the draws that
    choose the orders, as they always have."""
    alex, siti, lucia = shoppers[:3]
    number = iter(range(1001, 1001 + orders + 10))
    plans = [
        # Alex: one order on its way, older ones delivered — "where is my order?" has one answer.
        _OrderPlan(f"A{next(number)}", alex, "shipped", 2, [(_first(0), 1), (_first(6), 2)]),
        _OrderPlan(f"A{next(number)}", alex, "delivered", 40, [(_first(2), 1)]),
        _OrderPlan(f"A{next(number)}", alex, "delivered", 95, [(_first(9), 3)]),
        # Siti: two orders in progress — the bot asks which one.
        _OrderPlan(f"A{next(number)}", siti, "processing", 1, [(_first(1), 1)]),
        _OrderPlan(f"A{next(number)}", siti, "shipped", 3, [(_first(3), 1), (_first(7), 2)]),
        _OrderPlan(f"A{next(number)}", siti, "delivered", 60, [(_first(5), 1)]),
        # Lucía: one delivered order.
        _OrderPlan(f"A{next(number)}", lucia, "delivered", 12, [(_first(4), 1)]),
    ]
    built = [_order(plan, today, rng) for plan in plans]
    others = shoppers[3:]
    while len(built) < orders:
        customer = rng.choice(others)
        status = rng.choices(STATUSES, weights=_STATUS_WEIGHTS)[0]
        age = {"pending": 0, "processing": 1, "shipped": rng.randint(1, 4)}.get(status, rng.randint(6, 300))
        lines = [(rng.randrange(len(CATALOGUE)), rng.choice((1, 1, 1, 2, 3))) for _ in range(rng.choice((1, 1, 2, 3)))]
        plan = _OrderPlan(f"A{next(number)}", customer, status, age, [(_first(i), q) for i, q in lines])
        built.append(_order(plan, today, rng))
    return built


def _action_orders(sam: ShopCustomer, dewi: ShopCustomer, mateo: ShopCustomer) -> list[_OrderPlan]:
    """Orders in every state an action needs. "Delivered N days ago" is an age of N + 4: delivery
    comes four days after the order."""
    return [
        # Sam: a rug to cancel, sheets to change to another size, a lamp to return to the gift card.
        _OrderPlan("A3001", sam, "pending", 0, [(_first(3), 1)]),
        _OrderPlan("A3002", sam, "pending", 0, [("LH-SHT-03-QN-WHT", 1), (_first(6), 1)]),
        _OrderPlan("A3003", sam, "delivered", 9, [(_first(0), 1)]),
        _OrderPlan("A3004", sam, "shipped", 2, [("LH-BLND-06-BLK", 1)]),
        # Dewi pays by bank transfer: an order to cancel (processing: too late to change its items),
        # one to change, a return within the 30 days and one past them.
        _OrderPlan("A3005", dewi, "processing", 1, [("LH-KETL-02-SAG", 1)]),
        _OrderPlan("A3006", dewi, "pending", 0, [("LH-SHT-03-QN-SND", 1)]),
        _OrderPlan("A3007", dewi, "delivered", 14, [(_first(7), 2)]),
        _OrderPlan("A3008", dewi, "delivered", 49, [(_first(8), 1)]),
        # Mateo: an order to cancel, two delivered items to return or exchange, one cancelled already.
        _OrderPlan("A3009", mateo, "pending", 0, [("LH-LAMP-01-NAT", 1)]),
        _OrderPlan("A3010", mateo, "delivered", 7, [(_first(4), 1), ("LH-CNDL-10-FIG", 1)]),
        _OrderPlan("A3011", mateo, "cancelled", 20, [(_first(5), 1)], cancel_reason="ordered by mistake"),
    ]


def generate_demo_shop(*, today: date, seed: int = 7, customers: int = 200, orders: int = 1000) -> DemoShop:
    """About 200 customers over the three regions and about 1,000 orders in every status, then the
    customers and orders (A3001…) there to act on."""
    rng = random.Random(seed)
    people = _generated_people(rng, customers)
    shoppers = [_shop_customer(position, person) for position, person in enumerate(people)]
    built = _generated_orders(rng, shoppers, orders, today)
    actors = [_shop_customer(len(people) + i, person) for i, person in enumerate(ACTION_CUSTOMERS)]
    # A generator of their own: the orders above draw exactly what they always drew.
    action_rng = random.Random(f"{seed}:actions")
    built += [_order(plan, today, action_rng) for plan in _action_orders(*actors)]
    data = ShopData(products=list(CATALOGUE), customers=shoppers + actors, orders=[o for o, _ in built])
    return DemoShop(data=data, events={o.number: events for o, events in built if events})
