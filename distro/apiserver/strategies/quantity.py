"""Resource quantities (`500m`, `1Gi`, `2e3`): parsing, the milli round-up upstream applies when
defaulting, and the canonical text Go's `Quantity.String()` prints, which is also what the API
server writes back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext
from typing import Any

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

QUANTITY_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_SUFFIX = {bits: suffix for suffix, bits in _BINARY.items()}


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    format: str


def parse(raw: Any) -> Quantity | None:
    """None when upstream's decoder would refuse the value."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        raw = repr(raw) if isinstance(raw, float) else str(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    number = _NUMBER_RE.match(text)
    if not number:
        return None
    suffix = text[number.end() :]
    value = Decimal(number.group())
    with localcontext() as ctx:
        ctx.prec = 80
        if suffix in _BINARY:
            return Quantity(value * (Decimal(2) ** _BINARY[suffix]), BINARY_SI)
        if suffix in _DECIMAL:
            return Quantity(value.scaleb(_DECIMAL[suffix]), DECIMAL_SI)
        exponent = re.fullmatch(r"[eE]([+-]?[0-9]+)", suffix)
        if exponent:
            return Quantity(value.scaleb(int(exponent.group(1))), DECIMAL_EXPONENT)
    return None


def round_up_milli(q: Quantity) -> Quantity:
    """SetDefaults_ResourceList rounds every value up to milli precision."""
    if q.value == q.value.to_integral_value():
        return q
    with localcontext() as ctx:
        ctx.prec = 80
        try:
            rounded = q.value.quantize(Decimal("0.001"), rounding=ROUND_CEILING)
        except InvalidOperation:
            # more digits than any real quantity has; leave it as it came
            return q
    return Quantity(rounded, q.format)


def canonical(q: Quantity) -> str:
    """Quantity.String(): the largest suffix that keeps an integral mantissa."""
    value = q.value
    if value == 0:
        return "0"
    fmt = q.format
    if fmt == BINARY_SI and (abs(value) < 1024 or value != value.to_integral_value()):
        fmt = DECIMAL_SI
    if fmt == BINARY_SI:
        return _canonical_binary(int(value))
    mantissa, exponent = _decimal_mantissa(value)
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    if exponent < -9:
        # smaller than nano: Go rounds up to the nearest nano
        with localcontext() as ctx:
            ctx.prec = 80
            nanos = int((value.scaleb(9)).to_integral_value(rounding=ROUND_CEILING))
        mantissa, exponent = _shrink(nanos, -9)
    if exponent > 18:
        mantissa, exponent = mantissa * 10 ** (exponent - 18), 18
    return f"{mantissa}{_DECIMAL_SUFFIX[exponent]}"


def _decimal_mantissa(value: Decimal) -> tuple[int, int]:
    with localcontext() as ctx:
        ctx.prec = 80
        sign, digits, exp = value.normalize().as_tuple()
    mantissa = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    exponent = int(exp)
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    return _shrink(mantissa, exponent)


def _shrink(mantissa: int, exponent: int) -> tuple[int, int]:
    while mantissa and mantissa % 1000 == 0 and exponent < 18:
        mantissa //= 1000
        exponent += 3
    return mantissa, exponent


def _canonical_binary(value: int) -> str:
    bits = 0
    while bits < 60 and value % (1 << (bits + 10)) == 0:
        bits += 10
    return f"{value >> bits if value >= 0 else -((-value) >> bits)}{_BINARY_SUFFIX.get(bits, '')}"


def normalize(raw: Any) -> Any:
    """The text upstream stores for a quantity; unparseable input is left for validation to report."""
    q = parse(raw)
    return canonical(round_up_milli(q)) if q is not None else raw
