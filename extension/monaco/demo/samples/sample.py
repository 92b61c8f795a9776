"""A small inventory of items, with totals and a report."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 0

    def total(self) -> float:
        return self.price * self.quantity


def load_items(rows):
    items = []
    for row in rows:
        name, price, quantity = row.split(",")
        items.append(Item(name.strip(), float(price), int(quantity)))
    return items


def report(items):
    lines = []
    for item in sorted(items, key=lambda i: i.total(), reverse=True):
        lines.append(f"{item.name:<20} {item.total():>10.2f}")
    return "\n".join(lines)


